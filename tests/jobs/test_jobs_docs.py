"""The mutex and job examples of docs/state.md, against the fake Mattermost over real gRPC."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mattermost_plugin import PluginAPIClient
from mattermost_plugin.jobs import Jobs, jobs_of
from mattermost_plugin.kv import KV
from mattermost_plugin.mutex import Mutex

DOC = (Path(__file__).resolve().parents[2] / "docs" / "state.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", DOC, flags=re.DOTALL)


def example(containing: str) -> dict[str, Any]:
    (code,) = [block for block in BLOCKS if containing in block]
    namespace: dict[str, Any] = {"__name__": "state_doc_example"}
    exec(compile(code, "docs/state.md", "exec"), namespace)
    return namespace


def test_the_mutex_example(api: PluginAPIClient) -> None:
    plugin = example("class SyncPlugin")["SyncPlugin"]()
    plugin.api = api
    assert plugin.sync_now() == "synced"
    assert KV(api).collection("synced", list[str]).get("last") == ["a"]
    assert api.kv_get("_mutex:sync") is None
    held = Mutex(api, "sync")
    held.lock()
    plugin.cluster.mutex = lambda name, timeout: Mutex(api, name, timeout=0.1)
    assert plugin.sync_now() == "another node is syncing"
    held.unlock()


def test_the_jobs_example(api: PluginAPIClient) -> None:
    found = example("class Reminders")
    reminders = found["Reminders"]
    jobs, onces = jobs_of(reminders)
    assert {(spec.name, spec.every, spec.offset) for spec in jobs} == {
        ("sync", 300.0, None),
        ("daily", 86400.0, 28800.0),
    }
    assert set(onces) == {"remind"}
    plugin = reminders()
    plugin.api = api
    plugin.remind_later("r1", found["Reminder"](channel_id="c", text="stand up"))
    (pending,) = Jobs(api, plugin).pending()
    assert (pending.key, pending.payload) == ("r1", {"channel_id": "c", "text": "stand up"})


def test_the_clock_example_defines_a_test() -> None:
    found = example("def test_the_daily_digest")
    assert callable(found["test_the_daily_digest"])
