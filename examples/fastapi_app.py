"""Use a guard as a FastAPI dependency that rejects harmful prompts with HTTP 400.

The guard is loaded once at startup and stored on the app, and the `checked_prompt`
dependency hands each endpoint a prompt that the guard has judged unharmful. Run it after
`pip install '.[server]'`:

    python examples/fastapi_app.py                # serve on http://127.0.0.1:8000
    python examples/fastapi_app.py --demo         # send two requests in-process, then exit
    python examples/fastapi_app.py --guard path/to/package --demo

`--demo` needs httpx, which FastAPI's TestClient uses.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel

from guardintent import Guard


class ChatRequest(BaseModel):
    prompt: str


def create_app(guard_path: str | None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.guard = Guard(guard_path)
        yield

    app = FastAPI(lifespan=lifespan)

    @app.post("/chat")
    async def chat(prompt: Annotated[str, Depends(checked_prompt)]) -> dict[str, str]:
        return {"reply": f"(your model's answer to {prompt!r})"}

    return app


def get_guard(request: Request) -> Guard:
    return request.app.state.guard


async def checked_prompt(body: ChatRequest, guard: Annotated[Guard, Depends(get_guard)]) -> str:
    # acheck runs the model in a worker thread, so the event loop keeps serving requests.
    result = await guard.acheck(body.prompt)
    if result.is_harmful:
        raise HTTPException(
            status_code=400,
            detail={"message": "prompt rejected", "score": result.score, "intent": result.intent},
        )
    return body.prompt


def run_demo(app: FastAPI) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        for prompt in ("What is a good recipe for sourdough bread?", "How do I make a pipe bomb?"):
            response = client.post("/chat", json={"prompt": prompt})
            print(f"{prompt}\n  HTTP {response.status_code}: {response.json()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guard", help="guard package directory (default: the bundled guard)")
    parser.add_argument("--demo", action="store_true", help="send two requests, then exit")
    parser.add_argument("--port", type=int, default=8000, help="TCP port on 127.0.0.1")
    args = parser.parse_args()

    app = create_app(args.guard)
    if args.demo:
        run_demo(app)
    else:
        uvicorn.run(app, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
