"""A FastAPI app as the plugin's ServeHTTP handler (tests/http/test_through_supervisor.py).

Path parameters (typed, validated), a JSON body read into a pydantic model, a
``StreamingResponse``, a streamed upload (``request.stream()``), ``url_for`` (which needs
the ``/plugins/<plugin id>`` root path) and lifespan state set at startup.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.http import mount_asgi


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    yield {"greeting": "hello from the lifespan"}


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


@app.get("/items/{item_id}")
async def read_item(item_id: int, request: Request, q: str | None = None) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "q": q,
        "user_id": request.headers.get("Mattermost-User-Id"),
        "url": str(request.url_for("read_item", item_id=item_id)),
        "greeting": request.state.greeting,
    }


@app.post("/items/{item_id}", status_code=201)
async def create_item(item_id: int, item: Item) -> dict[str, Any]:
    return {"item_id": item_id, "item": item.model_dump(), "tag_count": len(item.tags)}


@app.get("/stream/{count}")
async def stream(count: int) -> StreamingResponse:
    async def lines() -> AsyncIterator[str]:
        for i in range(count):
            yield f"line {i}\n"
            await asyncio.sleep(0)

    return StreamingResponse(lines(), media_type="text/plain")


@app.post("/upload")
async def upload(request: Request) -> dict[str, int]:
    size = chunks = 0
    async for chunk in request.stream():
        size += len(chunk)
        chunks += 1 if chunk else 0
    return {"bytes": size, "chunks": chunks}


class FastAPIPlugin(Plugin):
    serve_http = mount_asgi(app)

    @hook(HookName.OnActivate)
    async def on_activate(self) -> None:
        await self.serve_http.startup()

    @hook(HookName.OnDeactivate)
    async def on_deactivate(self) -> None:
        await self.serve_http.shutdown()


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(FastAPIPlugin)
