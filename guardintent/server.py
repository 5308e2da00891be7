"""HTTP server for a guard, compatible with OpenAI's moderation endpoint.

Endpoints:

- `POST /v1/moderations`: the body of OpenAI's moderation API (`input` is a str or a list of
  str, `model` is accepted and ignored). Each result has `flagged`, `categories` (bool per
  hazard category of the guard), `category_scores`, and the guard's `intent`,
  `intent_confidence`, `score` and `decided_by`.
- `POST /v1/check`: `{"input": str}` returns one `CheckResult` as JSON, `{"input": [str, ...]}`
  a list of them, and `{"messages": [...]}` the result of `check_messages`.
- `GET /healthz`: `{"status": "ok", "guard": {"name": ..., "version": ...}}`.

Errors are JSON in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with
status 400 for an invalid body, 404 or 405 for an unknown route, 413 for a body over the size
limit, and 500 when the guard fails. Model calls run in worker threads, so the event loop keeps
serving. Needs the `[server]` extra: `pip install 'guardintent[server]'`.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from guardintent.errors import MissingExtraError
from guardintent.result import CheckResult, GuardInfo

try:
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException
except ImportError as error:
    raise MissingExtraError("guardintent.server", "server", str(error)) from error

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_INPUTS", "build_server", "create_app"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_INPUTS = 128
# A category of a flagged result is reported as true from this probability on. The category
# that decided the verdict through a category threshold is true whatever its probability.
CATEGORY_FLAG_PROBABILITY = 0.5
GRACEFUL_SHUTDOWN_SECONDS = 10


class ServedGuard(Protocol):
    """Interface that the server needs from a guard; `Guard` and `FakeGuard` implement it."""

    info: GuardInfo

    async def acheck_batch(self, prompts: Sequence[str]) -> list[CheckResult]:
        """Classify prompts without blocking the event loop."""
        ...

    async def acheck_messages(self, messages: Sequence[Mapping[str, Any]]) -> CheckResult:
        """Classify the user side of a chat without blocking the event loop."""
        ...


class RequestError(Exception):
    """A request that the server rejects, sent to the client as an OpenAI-style error."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code


def create_app(
    guard: ServedGuard,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_inputs: int = DEFAULT_MAX_INPUTS,
) -> FastAPI:
    """Build the ASGI app that serves `guard`; see the module docstring for the endpoints.

    `max_body_bytes` limits the request body, and `max_inputs` the strings in one `input` list.
    """
    if max_body_bytes < 1 or max_inputs < 1:
        raise ValueError(
            f"max_body_bytes and max_inputs must be positive, got {max_body_bytes} and {max_inputs}"
        )
    app = FastAPI(title="guardintent", docs_url=None, redoc_url=None)
    app.add_exception_handler(RequestError, _request_error_response)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error_response)  # type: ignore[arg-type]

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "guard": guard.info.model_dump()}

    @app.post("/v1/moderations")
    async def moderations(request: Request) -> dict[str, Any]:
        body = await _read_json(request, max_body_bytes)
        prompts, _ = _read_inputs(body, max_inputs)
        model = body.get("model")
        if model is not None and not isinstance(model, str):
            raise RequestError(
                400, f"'model' must be a str, got {_json_type(model)}", param="model"
            )
        results = await _run(guard.acheck_batch(prompts))
        return {
            "id": f"modr-{uuid.uuid4().hex}",
            "model": f"{guard.info.name}-{guard.info.version}",
            "results": [moderation_result(result) for result in results],
        }

    @app.post("/v1/check")
    async def check(request: Request) -> Any:
        body = await _read_json(request, max_body_bytes)
        if "messages" in body:
            if "input" in body:
                raise RequestError(400, "give either 'input' or 'messages', not both")
            result = await _run(guard.acheck_messages(body["messages"]), invalid_param="messages")
            return result.model_dump(mode="json")
        prompts, single = _read_inputs(body, max_inputs)
        results = await _run(guard.acheck_batch(prompts))
        dumped = [result.model_dump(mode="json") for result in results]
        return dumped[0] if single else dumped

    return app


def moderation_result(result: CheckResult) -> dict[str, Any]:
    """Convert a `CheckResult` into one item of a moderation response's `results`."""
    flagged = result.is_harmful
    prefix = "category_threshold:"
    deciding = result.decided_by[len(prefix) :] if result.decided_by.startswith(prefix) else None
    categories = {
        category: flagged and (probability >= CATEGORY_FLAG_PROBABILITY or category == deciding)
        for category, probability in result.categories.items()
    }
    return {
        "flagged": flagged,
        "categories": categories,
        "category_scores": dict(result.categories),
        "intent": result.intent,
        "intent_confidence": result.intent_confidence,
        "score": result.score,
        "decided_by": result.decided_by,
    }


def build_server(
    guard: ServedGuard,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_inputs: int = DEFAULT_MAX_INPUTS,
    log_config: dict[str, Any] | None = uvicorn.config.LOGGING_CONFIG,
) -> uvicorn.Server:
    """Build a uvicorn server for `guard`; `.run()` serves until SIGINT or SIGTERM.

    On a signal, the server stops accepting connections and gives requests in flight up to
    `GRACEFUL_SHUTDOWN_SECONDS` to finish. `log_config` is passed to uvicorn, which applies
    it with `logging.config.dictConfig`; pass None to keep the process's logging as it is.
    """
    app = create_app(guard, max_body_bytes=max_body_bytes, max_inputs=max_inputs)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=log_config,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return uvicorn.Server(config)


async def _read_json(request: Request, max_body_bytes: int) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
        raise _body_too_large(max_body_bytes)
    body = bytearray()
    # The stream is counted as it arrives, so a chunked body without Content-Length is capped too.
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body_bytes:
            raise _body_too_large(max_body_bytes)
    try:
        parsed = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RequestError(400, f"the request body is not valid JSON: {error}") from error
    if not isinstance(parsed, dict):
        raise RequestError(400, f"the request body must be a JSON object, got {_json_type(parsed)}")
    return parsed


def _body_too_large(max_body_bytes: int) -> RequestError:
    return RequestError(
        413,
        f"the request body is larger than the limit of {max_body_bytes} bytes; send fewer or "
        "shorter inputs per request",
        code="body_too_large",
    )


def _read_inputs(body: dict[str, Any], max_inputs: int) -> tuple[list[str], bool]:
    """Return the prompts of `body["input"]` and whether it was a single str."""
    if "input" not in body:
        raise RequestError(400, "missing 'input': give a str or a list of str", param="input")
    value = body["input"]
    if isinstance(value, str):
        return [value], True
    if not isinstance(value, list):
        raise RequestError(
            400, f"'input' must be a str or a list of str, got {_json_type(value)}", param="input"
        )
    if not value:
        raise RequestError(400, "'input' is an empty list; give at least one str", param="input")
    if len(value) > max_inputs:
        raise RequestError(
            400,
            f"'input' has {len(value)} items, more than the limit of {max_inputs}; split the "
            "request",
            param="input",
            code="too_many_inputs",
        )
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise RequestError(
                400,
                f"'input[{index}]' must be a str, got {_json_type(item)}; only text is supported",
                param=f"input[{index}]",
            )
    return value, False


async def _run(call: Any, *, invalid_param: str | None = None) -> Any:
    """Await a guard call; invalid arguments become 400 errors, other failures 500 errors."""
    try:
        return await call
    except (TypeError, ValueError) as error:
        if invalid_param is None:
            raise _guard_failure(error) from error
        raise RequestError(
            400, f"invalid '{invalid_param}': {error}", param=invalid_param
        ) from error
    # Any other exception from the guard (onnxruntime, a broken package) is a server failure.
    except Exception as error:
        raise _guard_failure(error) from error


def _guard_failure(error: Exception) -> RequestError:
    logger.error("guard check failed: %r", error, exc_info=error)
    return RequestError(500, "the guard failed to check the input; see the server log")


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a str", bool: "a bool", type(None): "null"}
    return names.get(type(value), "a number")


async def _request_error_response(request: Request, error: RequestError) -> JSONResponse:
    kind = "server_error" if error.status >= 500 else "invalid_request_error"
    content = {"message": error.message, "type": kind, "param": error.param, "code": error.code}
    return JSONResponse({"error": content}, status_code=error.status)


async def _http_error_response(request: Request, error: StarletteHTTPException) -> JSONResponse:
    content = {
        "message": str(error.detail),
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    return JSONResponse({"error": content}, status_code=error.status_code, headers=error.headers)
