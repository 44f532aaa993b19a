"""``self.kv``, ``self.ensure_bot`` and cluster events from a real plugin subprocess under
the local Mattermost (tests/state/plugins/state), with this process writing the same store.

One node only: the same on the 3-node local cluster is in test_state_cluster.py.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mattermost_plugin import Plugin
from mattermost_plugin._pb.pluginapi.v1 import api_remaining_pb2, hooks_command_pb2
from mattermost_plugin.kv import KV, UpdateConflictError
from mattermost_plugin.testing import LocalMattermost

pytestmark = pytest.mark.mattermost_plugin("plugins/state", hook_timeout=10.0)
ICON = (Path(__file__).parent / "plugins" / "state" / "assets" / "icon.png").read_bytes()


def bots_named(mattermost: LocalMattermost, username: str) -> list[str]:
    with mattermost.server.transaction():
        return [b.user_id for b in mattermost.server.bots.values() if b.username == username]


# --- bots -------------------------------------------------------------------------------------


def test_activation_ensures_the_bot_with_its_icon(mattermost: LocalMattermost) -> None:
    (bot_id,) = bots_named(mattermost, "state-bot")
    line = mattermost.wait_for_log("activated")
    assert line.fields["bot_id"] == bot_id
    bot = mattermost.api.get_bot(bot_id)
    assert (bot.display_name, bot.description) == ("State", "Keeps the state tests company")
    assert bot.owner_id == "com.example.state"
    with mattermost.server.transaction():
        assert mattermost.server.profile_images[bot_id] == ICON
        picture_update = mattermost.server.users[bot_id].last_picture_update
    assert picture_update > 0
    record = mattermost.kv_get("_bots:state-bot")
    assert record == (
        b'{"user_id":"'
        + bot_id.encode()
        + b'","icon_sha256":"'
        + hashlib.sha256(ICON).hexdigest().encode()
        + b'"}'
    )

    # A new process (a reload, another node) finds the same bot and uploads nothing.
    assert mattermost.reload()
    assert bots_named(mattermost, "state-bot") == [bot_id]
    with mattermost.server.transaction():
        assert mattermost.server.users[bot_id].last_picture_update == picture_update


def test_bots_ensured_at_once_are_one_bot(mattermost: LocalMattermost) -> None:
    """3 threads and 3 tasks in the plugin, and 3 threads here, ensure one new bot."""
    from mattermost_plugin.bots import ensure_bot

    here: list[str] = []
    start = threading.Barrier(3)

    def ensure() -> None:
        start.wait()
        here.append(ensure_bot(mattermost.api, "race-bot", display_name="Race"))

    threads = [threading.Thread(target=ensure) for _ in range(3)]
    for thread in threads:
        thread.start()
    answer = mattermost.get("/bot", query="username=race-bot&n=3")
    for thread in threads:
        thread.join(30)
    assert answer.status_code == 200, answer.text
    ids = answer.json()["ids"]
    assert ids == bots_named(mattermost, "race-bot")
    assert set(here) == set(ids) and len(ids) == 1


# --- KV collections ---------------------------------------------------------------------------


@pytest.mark.parametrize("attempts", [10, 1])
def test_contended_updates_from_plugin_threads_tasks_and_another_process(
    mattermost: LocalMattermost, attempts: int
) -> None:
    """4 hook threads and 4 tasks in the plugin, 2 threads here: 25 increments each on one
    key. The final value is the number of updates that reported success, and every update
    that gave up raised UpdateConflictError naming the key."""
    key = f"hot-{attempts}"
    mine = {"ok": 0, "gave_up": 0}
    lock = threading.Lock()

    def here() -> None:
        counts = KV(mattermost.api).collection("counts", int, max_attempts=attempts)
        for _ in range(25):
            try:
                counts.update(key, lambda n: (n or 0) + 1)
                outcome = "ok"
            except UpdateConflictError as exc:
                assert exc.key == key
                outcome = "gave_up"
            with lock:
                mine[outcome] += 1

    threads = [threading.Thread(target=here) for _ in range(2)]
    for thread in threads:
        thread.start()
    answer = mattermost.get(
        "/incr", query=f"key={key}&workers=4&count=25&attempts={attempts}", timeout=60
    )
    for thread in threads:
        thread.join(60)
    assert answer.status_code == 200, answer.text
    plugin = answer.json()
    assert plugin["wrong"] == []
    assert plugin["ok"] + plugin["gave_up"] == 8 * 25
    assert mine["ok"] + mine["gave_up"] == 2 * 25
    final = KV(mattermost.api).collection("counts", int).get(key)
    assert final == plugin["ok"] + mine["ok"]
    if attempts == 1:
        assert plugin["gave_up"] + mine["gave_up"] > 0


# --- cluster events ---------------------------------------------------------------------------


def send_event(mattermost: LocalMattermost, event_id: str, data: bytes) -> None:
    request = hooks_command_pb2.OnPluginClusterEventRequest(
        event=api_remaining_pb2.PluginClusterEvent(id=event_id, data=data)
    )
    mattermost.call_hook("OnPluginClusterEvent", request)


def test_cluster_events_reach_their_typed_handlers(mattermost: LocalMattermost) -> None:
    send_event(mattermost, "cache-invalidate", b'{"keys": ["a", "b"]}')
    assert mattermost.wait_for_log("invalidate").fields["keys"] == "a,b"
    send_event(mattermost, "ping", b"")
    mattermost.wait_for_log("ping")
    send_event(mattermost, "raw", b"\x00\x01")
    assert mattermost.wait_for_log("raw").fields["hex"] == "0001"
    send_event(mattermost, "untyped", b"{")
    assert mattermost.wait_for_log("untyped").fields["type"] == "bytes"
    send_event(mattermost, "counts", b'{"a": 2, "b": 3}')
    assert mattermost.wait_for_log("counts").fields["total"] == 5
    send_event(mattermost, "someone-else", b"x")
    assert mattermost.wait_for_log("unclaimed").fields["event_id"] == "someone-else"


def test_a_bad_payload_or_a_failing_handler_is_logged(mattermost: LocalMattermost) -> None:
    send_event(mattermost, "cache-invalidate", b'{"keys": [1]}')
    line = mattermost.wait_for_log("does not validate", level="error")
    assert line.message == (
        "cluster event 'cache-invalidate': the payload does not validate for "
        "StatePlugin.on_invalidate: keys.0: Input should be a valid string"
    )
    assert line.fields["event_id"] == "cache-invalidate"
    send_event(mattermost, "broken", b'{"keys": []}')
    line = mattermost.wait_for_log("StatePlugin.on_broken failed", level="error")
    assert line.message == (
        "cluster event 'broken': StatePlugin.on_broken failed: the handler broke"
    )
    send_event(mattermost, "ping", b"")  # the plugin keeps going
    mattermost.wait_for_log("ping")
    assert mattermost.running


def test_published_events_reach_the_server(mattermost: LocalMattermost) -> None:
    answer = mattermost.post("/publish", query="keys=x,y")
    assert answer.status_code == 200, answer.text
    events = [
        (e.event.id, e.event.data, e.options.send_type) for e in mattermost.server.cluster_events
    ]
    assert events == [
        ("cache-invalidate", b'{"keys":["x","y"]}', "reliable"),
        ("raw", b"\x00\xff", "best_effort"),
    ]
    # One node: the server delivers them to no one, the sender included.
    assert mattermost.find_logs("invalidate") == []


# --- the helpers on Plugin ---------------------------------------------------------------------


def test_helpers_need_a_connected_api() -> None:
    class Lonely(Plugin):
        pass

    plugin = Lonely()
    with pytest.raises(RuntimeError, match=r"Lonely.api is not connected"):
        plugin.kv  # noqa: B018
    with pytest.raises(RuntimeError, match=r"Lonely.async_api is not connected"):
        plugin.async_cluster  # noqa: B018
    with pytest.raises(RuntimeError, match=r"Lonely.api is not connected"):
        plugin.ensure_bot("x")


def test_a_plugin_that_never_uses_them_does_not_load_them() -> None:
    code = (
        "import sys, mattermost_plugin\n"
        "class P(mattermost_plugin.Plugin):\n"
        "    pass\n"
        "P()\n"
        "names = ('kv', 'cluster', 'bots')\n"
        "print([m for m in names if f'mattermost_plugin.{m}' in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
