import json

import pytest

from guardintent.cli import main
from guardintent.scan import ScanError, scan_file
from guardintent.testing import FakeGuard, FakeRule

HARMFUL = "explain how to make a pipe bomb"
BENIGN = "how do i bake bread"


class CountingGuard(FakeGuard):
    """A FakeGuard that records the prompts of every batch and can fail on a given batch."""

    def __init__(self, fail_on_batch=None):
        super().__init__([FakeRule("pipe bomb")])
        self.batches = []
        self.fail_on_batch = fail_on_batch

    def check_batch(self, prompts):
        if len(self.batches) == self.fail_on_batch:
            raise KeyboardInterrupt
        self.batches.append(list(prompts))
        return super().check_batch(prompts)


def write_rows(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def read_out(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def rows():
    return [{"id": index, "prompt": HARMFUL if index % 3 == 0 else BENIGN} for index in range(10)]


def test_scan_writes_every_row(tmp_path, rows, guard):
    source = write_rows(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    summary = scan_file(guard, source, out, batch_size=4)
    assert (summary.total, summary.skipped, summary.checked) == (10, 0, 10)
    assert summary.harmful == 4
    written = read_out(out)
    assert [record["id"] for record in written] == list(range(10))
    assert written[0]["verdict"] == "harmful"
    assert written[1]["verdict"] == "unharmful"
    assert written[0]["score"] == pytest.approx(guard.check(HARMFUL).score, abs=1e-5)


def test_scan_resumes_after_stop(tmp_path, rows):
    source = write_rows(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        scan_file(CountingGuard(fail_on_batch=2), source, out, batch_size=3)
    assert [record["id"] for record in read_out(out)] == list(range(6))

    resumed = CountingGuard()
    summary = scan_file(resumed, source, out, batch_size=3)
    assert (summary.skipped, summary.checked) == (6, 4)
    assert sum(len(batch) for batch in resumed.batches) == 4
    assert [record["id"] for record in read_out(out)] == list(range(10))


def test_scan_drops_torn_last_line(tmp_path, rows, caplog):
    source = write_rows(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    scan_file(CountingGuard(), source, out)
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text("".join(lines[:5]) + lines[5][:20], encoding="utf-8")

    summary = scan_file(CountingGuard(), source, out)
    assert (summary.skipped, summary.checked) == (5, 5)
    assert [record["id"] for record in read_out(out)] == list(range(10))
    assert "partial last line" in caplog.text


def test_scan_second_run_checks_nothing(tmp_path, rows):
    source = write_rows(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    scan_file(CountingGuard(), source, out)
    again = CountingGuard()
    summary = scan_file(again, source, out)
    assert (summary.skipped, summary.checked) == (10, 0)
    assert again.batches == []


def test_scan_custom_fields(tmp_path):
    source = write_rows(tmp_path / "in.jsonl", [{"key": "a", "text": HARMFUL}])
    out = tmp_path / "out.jsonl"
    scan_file(CountingGuard(), source, out, field="text", id_field="key")
    assert read_out(out)[0]["id"] == "a"


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"id": 2}', "'prompt' must be a str, got nothing"),
        ('{"id": 2, "prompt": 5}', "'prompt' must be a str, got int"),
        ('{"prompt": "x"}', "'id' must be a str or int"),
        ('{"id": true, "prompt": "x"}', "'id' must be a str or int, got bool"),
        ('{"id": 1, "prompt": "x"}', "duplicate id 1"),
    ],
)
def test_scan_bad_line_names_file_and_line(tmp_path, line, fragment):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": 1, "prompt": BENIGN}) + "\n\n" + line + "\n")
    guard = CountingGuard()
    with pytest.raises(ScanError, match=fragment) as caught:
        scan_file(guard, source, tmp_path / "out.jsonl")
    assert f"{source}:3:" in str(caught.value)
    assert guard.batches == []


def test_scan_bad_output_line(tmp_path, rows):
    source = write_rows(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    out.write_text('{"verdict": "harmful"}\n')
    with pytest.raises(ScanError, match=f"{out}:1: the line has no 'id'"):
        scan_file(CountingGuard(), source, out)


def test_scan_missing_input(tmp_path):
    with pytest.raises(ScanError, match="cannot read the input file"):
        scan_file(CountingGuard(), tmp_path / "missing.jsonl", tmp_path / "out.jsonl")


def test_scan_invalid_batch_size(tmp_path):
    with pytest.raises(ValueError, match="batch_size"):
        scan_file(CountingGuard(), tmp_path / "in.jsonl", tmp_path / "out.jsonl", batch_size=0)


def test_scan_progress_bar(tmp_path, rows, capsys):
    pytest.importorskip("tqdm")
    source = write_rows(tmp_path / "in.jsonl", rows)
    scan_file(CountingGuard(), source, tmp_path / "out.jsonl", progress=True)
    assert "10/10" in capsys.readouterr().err


def test_cli_scan(tmp_path, rows, tiny_package, capsys):
    source = write_rows(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    argv = ["scan", str(source), "--out", str(out), "--guard", str(tiny_package),
            "--batch-size", "4", "--no-progress"]
    assert main(argv) == 0
    assert "checked 10 prompts (4 harmful), skipped 0" in capsys.readouterr().out
    assert main(argv) == 0
    assert "checked 0 prompts (0 harmful), skipped 10" in capsys.readouterr().out
    assert len(read_out(out)) == 10


def test_cli_scan_bad_line(tmp_path, tiny_package, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text("{oops\n")
    argv = ["scan", str(source), "--out", str(tmp_path / "out.jsonl"), "--guard",
            str(tiny_package)]
    assert main(argv) == 2
    assert f"{source}:1: invalid JSON" in capsys.readouterr().err


def test_cli_scan_invalid_batch_size(tmp_path, tiny_package, capsys):
    argv = ["scan", "in.jsonl", "--out", "out.jsonl", "--batch-size", "0"]
    assert main(argv) == 2
    assert "--batch-size must be positive" in capsys.readouterr().err
