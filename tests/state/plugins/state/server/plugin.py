"""Test plugin of tests/state: KV collections, ensure_bot and cluster events, used from a
real plugin process (sync in hook threads and async on the loop at once)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import BaseModel

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.cluster import on_cluster_event
from mattermost_plugin.http import HTTPRequest
from mattermost_plugin.kv import UpdateConflictError
from mattermost_plugin.models import PluginClusterEvent, PluginContext


class Invalidate(BaseModel):
    keys: list[str]


def increment(n: int | None) -> int:
    return (n or 0) + 1


async def increment_later(n: int | None) -> int:
    await asyncio.sleep(0)
    return (n or 0) + 1


class StatePlugin(Plugin):
    bot_id = ""

    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        self.bot_id = self.ensure_bot(
            username="state-bot",
            display_name="State",
            description="Keeps the state tests company",
            icon="assets/icon.png",
        )
        self.logger.info("activated", extra={"bot_id": self.bot_id})

    # -- cluster events ------------------------------------------------------------------
    @on_cluster_event("cache-invalidate")
    def on_invalidate(self, payload: Invalidate) -> None:
        self.logger.info("invalidate", extra={"keys": ",".join(payload.keys)})

    @on_cluster_event("ping")
    async def on_ping(self) -> None:
        self.logger.info("ping")

    @on_cluster_event("raw")
    def on_raw(self, payload: bytes) -> None:
        self.logger.info("raw", extra={"hex": payload.hex()})

    @on_cluster_event("untyped")
    def on_untyped(self, payload):  # type: ignore[no-untyped-def]
        self.logger.info("untyped", extra={"type": type(payload).__name__})

    @on_cluster_event("counts")
    async def on_counts(self, payload: dict[str, int]) -> None:
        self.logger.info("counts", extra={"total": sum(payload.values())})

    @on_cluster_event("broken")
    def on_broken(self, payload: Invalidate) -> None:
        raise RuntimeError("the handler broke")

    @hook(HookName.OnPluginClusterEvent)
    def on_other_event(self, context: PluginContext, event: PluginClusterEvent) -> None:
        self.logger.info("unclaimed", extra={"event_id": event.id})

    # -- what the tests drive --------------------------------------------------------------
    @hook(HookName.ServeHTTP)
    async def serve_http(self, context: PluginContext, request: HTTPRequest) -> dict[str, Any]:
        query = request.query_params

        def arg(name: str, default: str = "") -> str:
            return query.get(name, [default])[0]

        if request.path == "/incr":
            result = await self.increments(
                arg("key", "hot"),
                int(arg("workers", "4")),
                int(arg("count", "25")),
                int(arg("attempts", "10")),
            )
        elif request.path == "/bot":
            result = await self.race_bots(arg("username"), int(arg("n", "3")))
        elif request.path == "/publish":
            self.cluster.publish("cache-invalidate", Invalidate(keys=arg("keys").split(",")))
            await self.async_cluster.publish("raw", bytes.fromhex("00ff"), reliable=False)
            result = {"published": 2}
        else:
            return {"status_code": 404, "body": "no such route"}
        return {"status_code": 200, "body": json.dumps(result)}

    async def increments(self, key: str, workers: int, count: int, attempts: int) -> Any:
        """``workers`` threads and as many tasks, ``count`` updates each, on one key."""
        counts = self.kv.collection("counts", int, max_attempts=attempts)
        async_counts = self.async_kv.collection("counts", int, max_attempts=attempts)
        outcome = {"ok": 0, "gave_up": 0, "wrong": []}

        def record(error: Exception | None) -> None:
            if error is None:
                outcome["ok"] += 1
            elif isinstance(error, UpdateConflictError) and error.key == key:
                outcome["gave_up"] += 1
            else:
                outcome["wrong"].append(repr(error))

        def in_thread() -> None:
            for _ in range(count):
                try:
                    counts.update(key, increment)
                except Exception as exc:
                    record(exc)
                else:
                    record(None)

        async def in_task() -> None:
            for _ in range(count):
                try:
                    await async_counts.update(key, increment_later)
                except Exception as exc:
                    record(exc)
                else:
                    record(None)

        await asyncio.gather(
            *(asyncio.to_thread(in_thread) for _ in range(workers)),
            *(in_task() for _ in range(workers)),
        )
        return outcome

    async def race_bots(self, username: str, n: int) -> Any:
        """``n`` threads and ``n`` tasks ensure the same bot at once."""
        ids = await asyncio.gather(
            *(asyncio.to_thread(self.ensure_bot, username, display_name="Race") for _ in range(n)),
            *(self.async_ensure_bot(username, display_name="Race") for _ in range(n)),
        )
        return {"ids": sorted(set(ids))}


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(StatePlugin)
