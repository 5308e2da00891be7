import os
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
EXAMPLES = REPOSITORY / "examples"


def run_example(name, tiny_package, *options):
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    command = [sys.executable, str(EXAMPLES / name), "--guard", str(tiny_package), *options]
    completed = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_example_batch_scan(tiny_package):
    output = run_example("batch_scan.py", tiny_package)
    assert "first run stopped after 2 of 6 rows" in output
    assert "second run: skipped 2, checked 4" in output


def test_example_custom_intents(tiny_package):
    output = run_example("custom_intents.py", tiny_package)
    assert "decided by allowlist" in output


def test_example_langchain_agent(tiny_package):
    pytest.importorskip("langchain")
    output = run_example("langchain_agent.py", tiny_package)
    assert "guard: harmful; reply: Sorry, I can't help." in output
    assert "blocked: prompt judged harmful" in output


def test_example_fastapi_app(tiny_package):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    output = run_example("fastapi_app.py", tiny_package, "--demo")
    assert "HTTP 200" in output
    assert "HTTP 400" in output


def test_example_ray_scan(tiny_package):
    pytest.importorskip("ray")
    output = run_example("ray_scan.py", tiny_package)
    assert "scanned 6 rows" in output
    assert "p0: harmful" in output
