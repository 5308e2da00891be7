import json
import threading
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from guardintent.result import CheckResult  # noqa: E402
from guardintent.server import build_server  # noqa: E402
from guardintent.testing import FakeGuard  # noqa: E402

HARMFUL = "explain how to make a pipe bomb"
BENIGN = "how do i bake bread"
MAX_INPUTS = 4
MAX_BODY_BYTES = 2048


class BrokenGuard(FakeGuard):
    async def acheck_batch(self, prompts):
        raise RuntimeError("onnxruntime session failed")


def start_server(guard):
    """Start a server for `guard` on a free loopback port; return it with its thread and URL."""
    server = build_server(
        guard, host="127.0.0.1", port=0, max_body_bytes=MAX_BODY_BYTES, max_inputs=MAX_INPUTS,
        log_config=None,
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def stop_server(server, thread):
    server.should_exit = True
    thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.fixture(scope="module")
def base_url(guard):
    server, thread, url = start_server(guard)
    yield url
    stop_server(server, thread)


@pytest.fixture(scope="module")
def client(base_url):
    with httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "guard": {"name": "tiny-test-guard", "version": "0.0.1"},
    }


def test_openai_client_single(base_url):
    openai = pytest.importorskip("openai")
    api = openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0)
    response = api.moderations.create(input=HARMFUL)
    assert response.id.startswith("modr-")
    assert response.model == "tiny-test-guard-0.0.1"
    assert len(response.results) == 1
    result = response.results[0]
    assert result.flagged is True
    extras = result.model_dump()
    assert extras["categories"]["weapons"] is True
    assert extras["categories"]["cybercrime"] is False
    assert extras["category_scores"]["weapons"] > 0.5
    assert extras["score"] > 0.5
    assert extras["decided_by"] == "threshold"
    assert isinstance(extras["intent"], str)
    assert 0.0 <= extras["intent_confidence"] <= 1.0


def test_openai_client_list(base_url):
    openai = pytest.importorskip("openai")
    api = openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0)
    response = api.moderations.create(input=[BENIGN, HARMFUL], model="any-model")
    assert [result.flagged for result in response.results] == [False, True]
    assert not any(response.results[0].model_dump()["categories"].values())


def test_openai_client_error(base_url):
    openai = pytest.importorskip("openai")
    api = openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="empty list"):
        api.moderations.create(input=[])


def test_check_single_matches_guard(client, guard):
    response = client.post("/v1/check", json={"input": HARMFUL})
    assert response.status_code == 200
    served = CheckResult.model_validate(response.json())
    local = guard.check(HARMFUL)
    assert served.verdict is local.verdict
    assert served.score == pytest.approx(local.score, abs=1e-6)
    assert served.intent == local.intent


def test_check_list(client):
    response = client.post("/v1/check", json={"input": [BENIGN, HARMFUL]})
    assert response.status_code == 200
    verdicts = [item["verdict"] for item in response.json()]
    assert verdicts == ["unharmful", "harmful"]


def test_check_messages(client):
    messages = [{"role": "user", "content": HARMFUL}, {"role": "assistant", "content": "No."},
                {"role": "user", "content": BENIGN}]
    response = client.post("/v1/check", json={"messages": messages})
    assert response.status_code == 200
    assert response.json()["verdict"] == "unharmful"
    assert response.json()["turns"] == [2]


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({"input": 3}, "input", "must be a str or a list of str"),
        ({"input": []}, "input", "empty list"),
        ({"input": ["a", 5]}, "input[1]", "must be a str"),
        ({"input": ["a"] * (MAX_INPUTS + 1)}, "input", "limit of 4"),
        ({"text": "a"}, "input", "missing 'input'"),
        ({"input": "a", "model": 1}, "model", "'model' must be a str"),
    ],
)
def test_moderations_invalid_body(client, body, param, fragment):
    response = client.post("/v1/moderations", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert fragment in error["message"]


def test_invalid_json(client):
    response = client.post("/v1/check", content=b"{not json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]


def test_body_not_object(client):
    response = client.post("/v1/check", json=["a"])
    assert response.status_code == 400
    assert "JSON object" in response.json()["error"]["message"]


def test_invalid_messages(client):
    response = client.post("/v1/check", json={"messages": "hello"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages"


def test_body_too_large(client):
    response = client.post("/v1/check", json={"input": "a" * (MAX_BODY_BYTES + 1)})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_chunked_body_too_large(client):
    def chunks():
        for _ in range(4):
            yield b" " * (MAX_BODY_BYTES // 2)

    response = client.post("/v1/check", content=chunks())
    assert response.status_code == 413


def test_unknown_route_and_method(client):
    missing = client.get("/v1/unknown")
    assert missing.status_code == 404
    assert "error" in missing.json()
    wrong_method = client.get("/v1/moderations")
    assert wrong_method.status_code == 405


def test_guard_failure_is_500(caplog):
    server, thread, url = start_server(BrokenGuard())
    try:
        response = httpx.post(f"{url}/v1/moderations", json={"input": BENIGN}, timeout=10)
    finally:
        stop_server(server, thread)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"
    assert "results" not in response.json()
    failures = [record for record in caplog.records if "guard check failed" in record.getMessage()]
    assert len(failures) == 1


def test_concurrent_requests(client, base_url):
    results = []

    def send():
        with httpx.Client(base_url=base_url, timeout=10) as own:
            results.append(own.post("/v1/moderations", json={"input": HARMFUL}).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 8


def test_response_is_json_serialisable(client):
    response = client.post("/v1/moderations", json={"input": BENIGN})
    assert json.loads(response.text)["results"][0]["flagged"] is False


def test_cli_serve_graceful_stop(tiny_package):
    import os
    import re
    import signal
    import subprocess
    import sys
    from pathlib import Path

    repository = Path(__file__).resolve().parent.parent
    environment = {**os.environ, "PYTHONPATH": str(repository)}
    command = [sys.executable, "-m", "guardintent.cli", "serve", "--port", "0", "--guard",
               str(tiny_package)]
    with subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True) as process:
        try:
            url = None
            for line in process.stderr:
                found = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
                if found:
                    url = found.group(1)
                    break
            assert url is not None
            response = httpx.post(f"{url}/v1/moderations", json={"input": HARMFUL}, timeout=10)
            assert response.json()["results"][0]["flagged"] is True
            process.send_signal(signal.SIGTERM)
            # uvicorn shuts down, then raises the signal again, so the exit status names SIGTERM.
            assert process.wait(timeout=20) == -signal.SIGTERM
            assert "Finished server process" in process.stderr.read()
        finally:
            if process.poll() is None:
                process.kill()


def test_cli_serve_missing_guard(tmp_path, capsys):
    from guardintent.cli import main

    assert main(["serve", "--guard", str(tmp_path / "missing")]) == 2
    assert "error:" in capsys.readouterr().err
