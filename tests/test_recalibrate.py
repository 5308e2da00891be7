"""`guardintent recalibrate`: a new threshold and temperature for an existing package."""

import hashlib
import json
import random
import shutil

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("onnx")

from export.package import (  # noqa: E402
    MIN_EXAMPLES_PER_LABEL,
    THRESHOLD_METHOD,
    _calibration_warnings,
)
from export.recalibrate import recalibrate_guard  # noqa: E402
from guardintent import Guard  # noqa: E402
from guardintent.cli import main  # noqa: E402
from guardintent.errors import CorruptPackageError  # noqa: E402
from tests._tiny import build_tiny_package  # noqa: E402

pytestmark = pytest.mark.torch

# Prompts from the tiny package's vocabulary. Its graph scores the hazard words harmful, and
# every fifth row of a label goes against that rule, so the F1 curve is not flat.
BENIGN_WORDS = "bake bread cake recipe cook dinner travel plan trip paris weather poem".split()
HAZARD_WORDS = "pipe bomb weapon poison hack explosive".split()


def _labelled_rows(per_label=60, seed=0):
    rng = random.Random(seed)
    rows = []
    for index in range(2 * per_label):
        harmful = index % 2 == 0
        words = rng.sample(BENIGN_WORDS, rng.randint(2, 6))
        if harmful != (index % 10 in (4, 5)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(HAZARD_WORDS))
        rows.append((" ".join(words), "harmful" if harmful else "unharmful"))
    return rows


LABELLED = _labelled_rows()


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    return build_tiny_package(tmp_path_factory.mktemp("recalibrate") / "tiny")


def _write_labelled(path, rows=LABELLED):
    path.write_text("".join(json.dumps({"prompt": prompt, "label": label}) + "\n"
                            for prompt, label in rows))
    return path


def _manifest(package):
    return json.loads((package / "guard.json").read_text())


def _guard_f1(package, rows):
    results = Guard(package, threads=1).check_batch([prompt for prompt, _ in rows])
    flagged = [result.verdict.value == "harmful" for result in results]
    positive = [label == "harmful" for _, label in rows]
    true_positives = sum(f and p for f, p in zip(flagged, positive, strict=True))
    return 2 * true_positives / (sum(flagged) + sum(positive))


def _without_calibration(manifest):
    return {key: value for key, value in manifest.items()
            if key not in ("threshold", "temperature", "calibration")}


def test_recalibrate_rewrites_only_manifest(package, tmp_path):
    before = (package / "guard.json").read_bytes()
    labelled = _write_labelled(tmp_path / "labelled.jsonl")
    out = recalibrate_guard(package, labelled, tmp_path / "out")

    assert (package / "guard.json").read_bytes() == before
    old, new = _manifest(package), _manifest(out)
    assert new["files"] == old["files"]
    for name in old["files"]:
        assert (out / name).read_bytes() == (package / name).read_bytes()
    assert _without_calibration(new) == _without_calibration(old)
    calibration = new["calibration"]
    assert calibration["examples"] == len(LABELLED)
    assert calibration["examples_per_label"] == {"unharmful": 60, "harmful": 60}
    assert calibration["method"] == THRESHOLD_METHOD
    assert calibration["file"] == "labelled.jsonl"
    assert len(calibration["sha256"]) == 64
    assert new["threshold"] == calibration["threshold"] == calibration["tied_thresholds"][0]
    assert new["temperature"] == calibration["temperature"]
    assert Guard(out, threads=1).threshold == new["threshold"]


def test_recalibrate_matches_guard_f1(package, tmp_path):
    out = recalibrate_guard(package, _write_labelled(tmp_path / "labelled.jsonl"),
                            tmp_path / "out")
    calibration = _manifest(out)["calibration"]
    assert 0.5 < calibration["best_f1"] < 1.0
    # The chosen threshold ties with the best, and Guard reads the same scores.
    assert _guard_f1(out, LABELLED) >= calibration["best_f1"] - calibration["f1_standard_error"]


def test_recalibrate_follows_label_order(package, tmp_path):
    swapped = tmp_path / "swapped"
    shutil.copytree(package, swapped)
    manifest = _manifest(swapped)
    manifest["labels"] = ["harmful", "unharmful"]
    (swapped / "guard.json").write_text(json.dumps(manifest))

    out = recalibrate_guard(swapped, _write_labelled(tmp_path / "labelled.jsonl"),
                            tmp_path / "out")
    calibration = _manifest(out)["calibration"]
    # Column 0 now counts as harmful, for the calibration as for Guard.
    assert _guard_f1(out, LABELLED) >= calibration["best_f1"] - calibration["f1_standard_error"]


def test_recalibrate_sets_version(package, tmp_path):
    out = recalibrate_guard(package, _write_labelled(tmp_path / "labelled.jsonl"),
                            tmp_path / "out", version="9.9.9")
    assert _manifest(out)["version"] == "9.9.9"
    assert Guard(out, threads=1).info.version == "9.9.9"


def test_recalibrate_copies_nested_files(package, tmp_path):
    nested = tmp_path / "nested"
    shutil.copytree(package, nested)
    (nested / "extra").mkdir()
    (nested / "extra" / "notes.txt").write_text("notes\n")
    manifest = _manifest(nested)
    manifest["files"]["extra/notes.txt"] = hashlib.sha256(b"notes\n").hexdigest()
    (nested / "guard.json").write_text(json.dumps(manifest))

    out = recalibrate_guard(nested, _write_labelled(tmp_path / "labelled.jsonl"),
                            tmp_path / "out")
    assert (out / "extra" / "notes.txt").read_text() == "notes\n"


def test_recalibrate_drops_stale_benchmarks(package, tmp_path):
    source = tmp_path / "with-benchmarks"
    shutil.copytree(package, source)
    manifest = _manifest(source)
    manifest.setdefault("metrics", {})["benchmarks"] = {"threshold": manifest["threshold"]}
    manifest["metrics"]["validation"] = {"f1": 0.5}
    (source / "guard.json").write_text(json.dumps(manifest))

    out = recalibrate_guard(source, _write_labelled(tmp_path / "labelled.jsonl"),
                            tmp_path / "out")
    assert "benchmarks" not in _manifest(out)["metrics"]
    assert _manifest(out)["metrics"]["validation"] == {"f1": 0.5}


@pytest.mark.parametrize(("rows", "message"), [
    ([row for row in LABELLED if row[1] == "harmful"], "has 0 unharmful, 60 harmful prompts"),
    (LABELLED[:40], "has 20 unharmful, 20 harmful prompts"),
    ([], "has 0 unharmful, 0 harmful prompts"),
])
def test_recalibrate_too_few_raises(package, tmp_path, rows, message):
    labelled = _write_labelled(tmp_path / "few.jsonl", rows)
    with pytest.raises(ValueError, match=message) as error:
        recalibrate_guard(package, labelled, tmp_path / "out")
    assert f"at least {MIN_EXAMPLES_PER_LABEL} of each label" in str(error.value)
    assert not (tmp_path / "out").exists()


def test_recalibrate_invalid_label_raises(package, tmp_path):
    labelled = _write_labelled(tmp_path / "bad.jsonl", LABELLED + [("hello", "safe")])
    with pytest.raises(ValueError, match="line 121: invalid label 'safe'"):
        recalibrate_guard(package, labelled, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_recalibrate_not_utf8_raises(package, tmp_path):
    labelled = tmp_path / "latin.jsonl"
    labelled.write_bytes(b'{"prompt": "caf\xe9", "label": "unharmful"}\n')
    with pytest.raises(ValueError, match="latin.jsonl is not UTF-8 text"):
        recalibrate_guard(package, labelled, tmp_path / "out")


def test_recalibrate_damaged_package_raises(package, tmp_path):
    damaged = tmp_path / "damaged"
    shutil.copytree(package, damaged)
    with (damaged / "intents.json").open("a") as handle:
        handle.write(" ")
    with pytest.raises(CorruptPackageError, match="checksum mismatch"):
        recalibrate_guard(damaged, _write_labelled(tmp_path / "labelled.jsonl"),
                          tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("where", ["same", "parent", "inside"])
def test_recalibrate_overlapping_out_raises(package, tmp_path, where):
    parent = tmp_path / "parent"
    source = parent / "package"
    shutil.copytree(package, source)
    out = {"same": source, "parent": parent, "inside": source / "inner"}[where]
    labelled = _write_labelled(tmp_path / "labelled.jsonl")
    with pytest.raises(ValueError, match="write to a separate folder"):
        recalibrate_guard(source, labelled, out, overwrite=True)
    assert _manifest(source) == _manifest(package)
    assert not (source / "inner").exists()


@pytest.mark.parametrize("overwrite", [False, True])
def test_recalibrate_overwrite_only_package(package, tmp_path, overwrite):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me\n")
    labelled = _write_labelled(tmp_path / "labelled.jsonl")
    with pytest.raises(FileExistsError, match="not a guard package") as error:
        recalibrate_guard(package, labelled, folder, overwrite=overwrite)
    assert "pass --overwrite" not in str(error.value)
    assert (folder / "notes.txt").read_text() == "keep me\n"


def test_recalibrate_missing_file_raises(package, tmp_path):
    with pytest.raises(FileNotFoundError, match="labelled file not found: .*absent.jsonl"):
        recalibrate_guard(package, tmp_path / "absent.jsonl", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_calibration_warns_wide_band():
    calibration = {"examples_per_label": {"unharmful": 60, "harmful": 60}, "threshold": 0.06,
                   "temperature": 0.51, "tied_thresholds": [0.06, 0.66]}
    warnings = _calibration_warnings(calibration)
    assert warnings == ["thresholds from 0.06 to 0.66 tie with the best, so these examples do "
                        "not pin the threshold down; add borderline prompts like your traffic"]


def test_calibration_warns_temperature_edge():
    calibration = {"examples_per_label": {"unharmful": 60, "harmful": 60}, "threshold": 0.4,
                   "temperature": 10.8, "tied_thresholds": [0.4, 0.5]}
    (warning,) = _calibration_warnings(calibration)
    assert warning.startswith("the temperature 10.8 is at the edge of the searched range")


def test_recalibrate_missing_benchmark_dir(package, tmp_path):
    labelled = _write_labelled(tmp_path / "labelled.jsonl")
    with pytest.raises(FileNotFoundError, match="benchmark folder not found"):
        recalibrate_guard(package, labelled, tmp_path / "new" / "out",
                          benchmark_dir=tmp_path / "absent")
    assert not (tmp_path / "new").exists()


def test_cli_recalibrate(package, tmp_path, capsys):
    labelled = _write_labelled(tmp_path / "labelled.jsonl")
    out = tmp_path / "out"
    assert main(["recalibrate", str(package), str(labelled), str(out)]) == 0
    assert _manifest(out)["calibration"]["examples"] == len(LABELLED)

    assert main(["recalibrate", str(package), str(labelled), str(out)]) == 2
    assert "already exists; remove it or pass --overwrite" in capsys.readouterr().err
    assert main(["recalibrate", str(package), str(labelled), str(out), "--overwrite",
                 "--version", "2.0.0"]) == 0
    assert _manifest(out)["version"] == "2.0.0"
