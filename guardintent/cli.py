"""The `guardintent` command: check prompts, evaluate a guard, and reach training and export."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from guardintent.errors import GuardIntentError, MissingExtraError
from guardintent.result import CheckResult

if TYPE_CHECKING:
    from guardintent.data.schema import Example
    from guardintent.guard import Guard

__all__ = ["main"]

# Subcommands implemented in optional extras: name -> (module with main(argv), extra).
_EXTRA_COMMANDS = {
    "train": ("guardintent.train.cli", "train"),
    "export": ("export.cli", "export"),
    "recalibrate": ("export.recalibrate", "export"),
}
_CATEGORIES_SHOWN = 3


class _CommandError(Exception):
    """An invalid option value or unreadable input, reported as one line on stderr."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list and args_list[0] in _EXTRA_COMMANDS:
            return _run_extra_command(args_list[0], args_list[1:])
        args = _build_parser().parse_args(args_list)
        return args.handler(args)
    except (GuardIntentError, _CommandError) as error:
        sys.stderr.write(f"guardintent: error: {error}\n")
        return 2


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guardintent", description="Intent-aware prompt-safety guard."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="classify prompts")
    check.add_argument("prompts", nargs="+", metavar="PROMPT", help="prompt text to check")
    _add_guard_options(check)
    check.add_argument("--json", action="store_true", help="print one JSON object per prompt")
    check.set_defaults(handler=_run_check)

    evaluate = commands.add_parser("eval", help="measure precision, recall and F1 on benchmarks")
    evaluate.add_argument(
        "--data-dir", help="dataset directory (default: the GUARDINTENT_DATA variable)"
    )
    _add_guard_options(evaluate)
    evaluate.add_argument(
        "--file", action="append", default=[], help="JSON lines benchmark file (repeatable)"
    )
    evaluate.add_argument(
        "--name", action="append", default=[], help="benchmark name for each --file, in order"
    )
    evaluate.add_argument("--limit", type=int, help="use at most N examples per benchmark")
    evaluate.add_argument("--batch-size", type=int, default=32, help="prompts per model call")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.set_defaults(handler=_run_eval)

    _add_scan_parser(commands)
    _add_serve_parser(commands)

    for name, (_, extra) in _EXTRA_COMMANDS.items():
        commands.add_parser(name, help=f"{name} a guard (needs the [{extra}] extra)")
    return parser


def _add_scan_parser(commands: argparse._SubParsersAction) -> None:
    scan = commands.add_parser("scan", help="check every prompt of a JSON lines file, resumably")
    scan.add_argument("input", metavar="INPUT", help="JSON lines file, one object per prompt")
    scan.add_argument(
        "--out",
        required=True,
        help="JSON lines file of results; appended to, and ids in it are skipped",
    )
    _add_guard_options(scan)
    scan.add_argument("--batch-size", type=int, default=32, help="prompts per model call")
    scan.add_argument(
        "--field", default="prompt", help="name of the prompt field (default: prompt)"
    )
    scan.add_argument("--id-field", default="id", help="name of the id field (default: id)")
    scan.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    scan.set_defaults(handler=_run_scan)


def _add_serve_parser(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve", help="serve an OpenAI-compatible moderation API (needs the [server] extra)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000)")
    _add_guard_options(serve)
    serve.add_argument(
        "--max-body-bytes", type=int, default=1024 * 1024, help="maximum request body size in bytes"
    )
    serve.add_argument(
        "--max-inputs",
        type=int,
        default=128,
        help="maximum number of strings in one request's input list",
    )
    serve.add_argument(
        "--threads", type=int, help="onnxruntime intra-op threads (default: the CPUs available)"
    )
    serve.set_defaults(handler=_run_serve)


def _add_guard_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--guard", help="guard package directory (default: the bundled guard)")
    parser.add_argument(
        "--threshold", type=float, help="harm score from 0 to 1 at which a prompt is harmful"
    )
    parser.add_argument(
        "--no-sentences",
        action="store_true",
        help="skip the sentence-by-sentence reading of prompts of 600+ characters: about "
        "half the time for those that reach the sentence gate and fewer false positives on "
        "long benign prompts, but a request among benign sentences can be diluted and pass",
    )
    parser.add_argument(
        "--sentence-gate",
        type=float,
        help="harm score from 0 to 1 that one of the windows of a prompt of 600+ characters "
        "must reach for the prompt to be read sentence by sentence too (default: half the "
        "threshold; 0 reads every such prompt)",
    )


def _load_guard(args: argparse.Namespace) -> Guard:
    from guardintent.guard import Guard

    scores = (("--threshold", args.threshold), ("--sentence-gate", args.sentence_gate))
    for flag, value in scores:
        if value is not None and not 0.0 <= value <= 1.0:
            raise _CommandError(f"{flag} must be a number from 0 to 1, got {value}")
    if args.no_sentences and args.sentence_gate is not None:
        raise _CommandError(
            f"--sentence-gate {args.sentence_gate} has no effect with --no-sentences, which "
            "turns the sentence reading off; pass only one of them"
        )
    try:
        return Guard(
            args.guard,
            threshold=args.threshold,
            threads=getattr(args, "threads", None),
            score_sentences=not args.no_sentences,
            sentence_gate=args.sentence_gate,
        )
    except ValueError as error:
        raise _CommandError(str(error)) from error


def _run_check(args: argparse.Namespace) -> int:
    guard = _load_guard(args)
    results = guard.check_batch(args.prompts)
    for prompt, result in zip(args.prompts, results, strict=True):
        if args.json:
            # The prompt, threshold and sentence gate applied make each line readable alone.
            fields = {**result.model_dump(mode="json"), "prompt": prompt,
                      "threshold": guard.threshold, "sentence_gate": guard.sentence_gate}
            sys.stdout.write(json.dumps(fields, ensure_ascii=False) + "\n")
        else:
            label = prompt if len(args.prompts) > 1 else None
            sys.stdout.write(_describe(result, label, guard.threshold) + "\n")
    return 0


def _describe(result: CheckResult, prompt: str | None, threshold: float) -> str:
    lines = [] if prompt is None else [f"prompt: {_shorten(prompt, 70)}"]
    lines.append(f"{result.verdict.value}  score {result.score:.3f} (threshold {threshold:.2f})")
    if result.intent is None:
        lines.append(f"  intent: none ({result.decided_by})")
    else:
        lines.append(f"  intent: {result.intent} (confidence {result.intent_confidence:.2f})")
    top = sorted(result.categories.items(), key=lambda item: item[1], reverse=True)
    if top:
        listed = ", ".join(f"{name} {value:.2f}" for name, value in top[:_CATEGORIES_SHOWN])
        lines.append(f"  categories: {listed}")
    # A batch's latency covers the whole call, so several prompts share one figure.
    scope = " for the whole batch" if prompt is not None else ""
    lines.append(f"  latency: {result.latency_ms:.1f} ms{scope}, windows: {result.windows}")
    return "\n".join(lines)


def _shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def _run_eval(args: argparse.Namespace) -> int:
    from guardintent.evaluate import evaluate, render_table

    if len(args.file) != len(args.name):
        raise _CommandError(
            f"got {len(args.file)} --file and {len(args.name)} --name options; "
            "give one --name per --file"
        )
    if args.limit is not None and args.limit < 1:
        raise _CommandError(f"--limit must be positive, got {args.limit}")
    if args.batch_size < 1:
        raise _CommandError(f"--batch-size must be positive, got {args.batch_size}")
    try:
        benchmarks = _read_benchmarks(args)
    except FileNotFoundError as error:
        raise _CommandError(f"labelled file not found: {error.filename}") from error
    except (OSError, ValueError) as error:
        raise _CommandError(str(error)) from error
    if not benchmarks:
        raise _CommandError("no benchmark found; pass --data-dir, or --file with --name")
    if args.limit is not None:
        benchmarks = {name: examples[: args.limit] for name, examples in benchmarks.items()}

    # With --file, the mean F1 covers the given files that hold both labels.
    headline = [
        name for name, examples in benchmarks.items()
        if len({example.label for example in examples}) == 2
    ] if args.file else None
    report = evaluate(
        _load_guard(args), benchmarks, batch_size=args.batch_size, headline=headline
    )
    sys.stdout.write((report.to_json() if args.json else render_table(report)) + "\n")
    return 0


def _read_benchmarks(args: argparse.Namespace) -> dict[str, list[Example]]:
    from guardintent.data import load_benchmarks, read_jsonl_benchmark

    if args.file:
        return {
            name: read_jsonl_benchmark(path, name)
            for path, name in zip(args.file, args.name, strict=True)
        }
    return load_benchmarks(args.data_dir)


def _run_scan(args: argparse.Namespace) -> int:
    from guardintent.scan import scan_file

    if args.batch_size < 1:
        raise _CommandError(f"--batch-size must be positive, got {args.batch_size}")
    summary = scan_file(
        _load_guard(args),
        args.input,
        args.out,
        batch_size=args.batch_size,
        field=args.field,
        id_field=args.id_field,
        progress=not args.no_progress,
    )
    sys.stdout.write(
        f"checked {summary.checked} prompts ({summary.harmful} harmful), skipped "
        f"{summary.skipped} already in {args.out}\n"
    )
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    try:
        from guardintent.server import build_server
    except MissingExtraError as error:
        reason = str(error.__cause__ or error)
        raise MissingExtraError("`guardintent serve`", "server", reason) from error

    if args.max_body_bytes < 1 or args.max_inputs < 1:
        raise _CommandError("--max-body-bytes and --max-inputs must be positive")
    server = build_server(
        _load_guard(args),
        host=args.host,
        port=args.port,
        max_body_bytes=args.max_body_bytes,
        max_inputs=args.max_inputs,
    )
    server.run()
    return 0


def _run_extra_command(command: str, argv: list[str]) -> int:
    module_name, extra = _EXTRA_COMMANDS[command]
    try:
        entry: Callable[[list[str]], int | None] = importlib.import_module(module_name).main
    except ImportError as error:
        raise MissingExtraError(f"`guardintent {command}`", extra, str(error)) from error
    status = entry(argv)
    return 0 if status is None else int(status)


if __name__ == "__main__":
    sys.exit(main())
