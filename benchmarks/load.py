"""Load-test `guardintent serve` on loopback: throughput, p50/p95 latency and errors.

Starts the server in a subprocess on a free port of 127.0.0.1, sends a warm-up, then, for each
concurrency level, sends at most `--requests` requests to `POST /v1/moderations` from that many
concurrent httpx clients, stopping early after `--max-seconds`. Prints the hardware and thread
settings with the figures. Needs the `[server]` extra and httpx.

    python benchmarks/load.py [--guard PATH] [--requests 200] [--concurrency 1 4 16]
                              [--max-seconds 30] [--threads N] [--batch 1] [--json OUT]

NOTE: client and server share this machine's CPUs, so the client's own work lowers the
measured throughput, most at high concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import onnxruntime as ort

from guardintent._runtime import available_cpus

REPOSITORY = Path(__file__).resolve().parent.parent
PROMPT = "I am planning a weekend trip with my family. Which museums in Paris suit children?"
WARMUP_REQUESTS = 5
START_TIMEOUT_SECONDS = 60


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    threads = args.threads or available_cpus()
    server, url = start_server(args.guard, threads)
    try:
        report: dict[str, Any] = {
            "environment": describe_environment(threads),
            "settings": {"requests": args.requests, "max_seconds": args.max_seconds,
                         "inputs_per_request": args.batch},
            "levels": [],
        }
        body = {"input": [PROMPT] * args.batch if args.batch > 1 else PROMPT}
        asyncio.run(run_level(url, body, 1, WARMUP_REQUESTS, args.max_seconds))
        for concurrency in args.concurrency:
            level = asyncio.run(
                run_level(url, body, concurrency, args.requests, args.max_seconds)
            )
            report["levels"].append(level)
    finally:
        stop_server(server)

    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guard", help="guard package directory (default: the bundled guard)")
    parser.add_argument("--requests", type=int, default=200,
                        help="maximum requests per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16],
                        help="numbers of concurrent clients to measure")
    parser.add_argument("--max-seconds", type=float, default=30.0,
                        help="time limit per concurrency level, in seconds")
    parser.add_argument("--threads", type=int,
                        help="server's onnxruntime intra-op threads (default: the CPUs available)")
    parser.add_argument("--batch", type=int, default=1, help="prompts per request")
    parser.add_argument("--json", help="also write the report to this JSON file")
    return parser


def start_server(guard: str | None, threads: int) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "guardintent.cli", "serve", "--host", "127.0.0.1",
               "--port", "0", "--threads", str(threads)]
    if guard:
        command += ["--guard", guard]
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    # The access log goes to stdout, which is discarded, so that it does not mix with the report.
    server = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    assert server.stderr is not None
    for line in server.stderr:
        found = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
        if found:
            # Keep reading stderr, so that a full pipe never blocks the server's logging.
            threading.Thread(target=server.stderr.read, daemon=True).start()
            return server, found.group(1)
        if time.monotonic() > deadline:
            break
    stop_server(server)
    raise SystemExit(f"error: the server did not start; last output: {line.strip()}")


def stop_server(server: subprocess.Popen[str]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def run_level(
    url: str, body: dict[str, Any], concurrency: int, requests: int, max_seconds: float
) -> dict[str, Any]:
    """Send up to `requests` requests from `concurrency` clients; stop at `max_seconds`."""
    latencies: list[float] = []
    errors: list[str] = []
    remaining = requests
    start = time.perf_counter()
    deadline = start + max_seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            sent = time.perf_counter()
            try:
                response = await client.post("/v1/moderations", json=body)
                response.raise_for_status()
            except httpx.HTTPError as error:
                errors.append(repr(error))
                continue
            latencies.append(time.perf_counter() - sent)

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return summarise(concurrency, latencies, errors, elapsed)


def summarise(
    concurrency: int, latencies: list[float], errors: list[str], elapsed: float
) -> dict[str, Any]:
    milliseconds = sorted(latency * 1000.0 for latency in latencies)
    percentiles = statistics.quantiles(milliseconds, n=100) if len(milliseconds) > 1 else None
    return {
        "concurrency": concurrency,
        "completed": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "seconds": elapsed,
        "requests_per_second": len(latencies) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentiles[49] if percentiles else None,
        "p95_ms": percentiles[94] if percentiles else None,
    }


def describe_environment(threads: int) -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "server_intra_op_threads": threads,
        "httpx": httpx.__version__,
    }


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_report(report: dict[str, Any]) -> None:
    for key, value in report["environment"].items():
        print(f"{key}: {value}")
    settings = report["settings"]
    print(f"at most {settings['requests']} requests or {settings['max_seconds']} s per level, "
          f"{settings['inputs_per_request']} prompt(s) per request\n")
    print(f"{'concurrency':>11} {'done':>6} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for level in report["levels"]:
        p50 = "-" if level["p50_ms"] is None else f"{level['p50_ms']:.1f}"
        p95 = "-" if level["p95_ms"] is None else f"{level['p95_ms']:.1f}"
        print(f"{level['concurrency']:>11} {level['completed']:>6} {level['errors']:>6} "
              f"{level['requests_per_second']:>8.1f} {p50:>8} {p95:>8}")
        if level["first_error"]:
            print(f"{'':>11} first error: {level['first_error']}")


if __name__ == "__main__":
    sys.exit(main())
