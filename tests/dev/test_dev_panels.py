"""The ``/dev/`` routes of the playground's author panels, through a real dev server and the
workshop plugin as a real subprocess: the hook log, the plugin's log, the KV browser, and
the settings and status the panels read."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from tests.rest.conftest import Dev, assert_app_error, start_dev
from tests.rest.test_events import Listener
from tests.support.dev import REPO, copy_plugin

from mattermost_plugin.host._config_patch import FAKE_SETTING

WORKSHOP = REPO / "tests" / "dev" / "plugins" / "workshop"
PLUGIN_ID = "com.example.workshop"
API_KEY = "sk-live-0123456789"


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    folder = copy_plugin(WORKSHOP, tmp_path_factory.mktemp("panels") / "workshop")
    server, output = start_dev(folder, settings={"api_key": API_KEY})
    admin = httpx.Client(base_url=server.url, timeout=30)
    try:
        yield Dev(server, admin, output)
    finally:
        admin.close()
        server.stop()


def post(dev: Dev, message: str) -> httpx.Response:
    return dev.admin.post("/api/v4/posts", json={"channel_id": "town-square", "message": message})


def eventually(read: Callable[[], Any], check: Callable[[Any], bool], timeout: float = 10) -> Any:
    """``read()`` until ``check`` accepts it (background hooks and stderr lines arrive late)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {value}")
        time.sleep(0.02)


def hook_calls(dev: Dev, **query: Any) -> dict[str, Any]:
    answer = dev.admin.get("/dev/hooks", params=query)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_the_hook_log_shows_each_call_with_its_arguments_outcome_and_node(dev: Dev) -> None:
    assert post(dev, "hello from the test").status_code == 201
    calls = hook_calls(dev, hook="MessageWillBePosted")["calls"]
    newest = calls[0]
    assert newest["hook"] == "MessageWillBePosted" and newest["outcome"] == "allowed"
    assert '"message":"hello from the test"' in newest["args"]
    assert '"context"' not in newest["args"] and len(newest["args"]) <= 300
    assert newest["node"] == 0 and newest["failed"] is False and newest["traceback"] is None
    assert newest["duration_ms"] > 0 and newest["duration"].endswith(("ms", " s"))

    background = eventually(
        lambda: hook_calls(dev, hook="MessageHasBeenPosted")["calls"], lambda calls: calls
    )
    assert background[0]["outcome"] == "done" and "hello from the test" in background[0]["args"]

    assert post(dev, "buy spam now").status_code == 400
    rejected = hook_calls(dev, hook="MessageWillBePosted")["calls"][0]
    assert rejected["outcome"] == "rejected: 'no spam here'" and rejected["level"] == "warn"
    assert rejected["failed"] is False


def test_the_hook_log_filters_and_pages(dev: Dev) -> None:
    for number in range(3):
        assert post(dev, f"page {number}").status_code == 201
    everything = hook_calls(dev)
    assert {"MessageWillBePosted", "MessageHasBeenPosted"} <= set(everything["hooks"])
    assert everything["kept"] == everything["total"] >= 6
    only = hook_calls(dev, hook="MessageWillBePosted", per_page=2)
    assert len(only["calls"]) == 2 and {c["hook"] for c in only["calls"]} == {"MessageWillBePosted"}
    second = hook_calls(dev, hook="MessageWillBePosted", per_page=2, page=1)["calls"]
    ids = [c["id"] for c in only["calls"] + second]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4  # newest first, no overlap
    assert hook_calls(dev, hook="NoSuchHook")["calls"] == []


def test_a_failing_handler_shows_its_readable_traceback_on_its_own_call(dev: Dev) -> None:
    listener = Listener(f"{dev.server.url}/dev/events")
    try:
        assert post(dev, "a call before the failure").status_code == 201
        assert post(dev, "count twelve").status_code == 201  # the SDK fails open
        failed = eventually(
            lambda: hook_calls(dev, hook="MessageWillBePosted", failed="true")["calls"],
            lambda calls: calls and "twelve" in calls[0]["args"],
        )[0]
        assert failed["level"] == "error" and "invalid literal for int()" in failed["error"]
        assert failed["origin"].startswith("server/plugin.py:")
        assert failed["origin"].endswith("in parse_count")
        assert "ValueError: invalid literal for int()" in failed["traceback"]
        assert "SDK frames hidden" in failed["traceback"]
        # The call just before it is not blamed.
        ok = hook_calls(dev, hook="MessageWillBePosted", failed="false")["calls"]
        assert any("a call before the failure" in c["args"] for c in ok)
        # The panels see the call live, with its failure (sent again once it is known).
        event = listener.wait_for(
            lambda name, m: (
                name == "dev_hook" and m["data"]["id"] == failed["id"] and m["data"]["failed"]
            )
        )
        assert event["data"]["traceback"] == failed["traceback"]
    finally:
        listener.close()


def test_the_plugins_http_is_in_the_hook_log(dev: Dev) -> None:
    answer = dev.admin.get(f"/plugins/{PLUGIN_ID}/hello?access_token=abcdef")
    assert answer.status_code == 200 and answer.json()["greeting"] == "hello"
    call = hook_calls(dev, hook="ServeHTTP")["calls"][0]
    assert call["args"] == "GET /hello?access_token=[REDACTED]"
    assert call["outcome"] == "answered 200" and call["node"] == 0


def test_http_failures_and_the_local_hosts_requests_are_in_the_hook_log(dev: Dev) -> None:
    assert dev.admin.get(f"/plugins/{PLUGIN_ID}/crash").status_code == 500
    crash = eventually(
        lambda: hook_calls(dev, hook="ServeHTTP", failed="true")["calls"],
        lambda calls: calls and calls[0]["args"] == "GET /crash",
    )[0]
    assert "the handler broke" in crash["error"] and crash["origin"].endswith("in serve_http")
    # Requests of the local host's own flows (button clicks, the pytest helpers) too.
    assert dev.server.local.post("/echo", body="ping").status_code == 201
    echo = hook_calls(dev, hook="ServeHTTP")["calls"][0]
    assert (echo["args"], echo["outcome"], echo["failed"]) == ("POST /echo", "answered 201", False)


def test_the_log_filters_by_level_and_text_and_shows_tracebacks(dev: Dev) -> None:
    assert post(dev, "buy spam again").status_code == 400
    assert post(dev, "count eleven").status_code == 201
    warnings = eventually(
        lambda: dev.admin.get("/dev/logs", params={"level": "warn"}).json(),
        lambda page: any("eleven" in line["message"] for line in page["lines"]),
    )
    assert {line["level"] for line in warnings["lines"]} <= {"warn", "error"}
    assert any(line["message"] == "rejected a post" for line in warnings["lines"])
    failure = next(line for line in warnings["lines"] if "eleven" in line["message"])
    assert "stacktrace" not in failure["fields"] and failure["fields"]["hook"] == (
        "MessageWillBePosted"
    )
    assert "ValueError" in failure["traceback"] and "parse_count" in failure["origin"]
    everything = dev.admin.get("/dev/logs").json()
    assert "debug" in {line["level"] for line in everything["lines"]}
    assert everything["total"] >= everything["kept"] >= everything["matching"]
    ids = [line["id"] for line in everything["lines"]]
    assert ids == sorted(ids, reverse=True)
    found = dev.admin.get("/dev/logs", params={"q": "WORKSHOP ACTIVATED"}).json()["lines"]
    assert [line["message"] for line in found] == ["workshop activated"]
    assert found[0]["level"] == "info" and found[0]["time"] > 0
    one = dev.admin.get("/dev/logs", params={"per_page": 1, "page": 1}).json()
    assert one["lines"][0]["id"] == ids[1]


def test_the_kv_browser_lists_pages_shows_and_deletes(dev: Dev) -> None:
    assert post(dev, "remember alpha").status_code == 201
    assert post(dev, "fill").status_code == 201
    listing = eventually(
        lambda: dev.admin.get("/dev/kv").json(),
        lambda page: page["total"] >= 28,
    )
    assert {"name": "notes", "keys": 1} in listing["collections"]
    assert {"name": "", "keys": 27} in listing["collections"]
    keys = [entry["key"] for entry in listing["keys"]]
    assert keys == sorted(keys) and len(keys) == 28

    items = dev.admin.get("/dev/kv", params={"prefix": "item-", "per_page": 10, "page": 2}).json()
    assert [e["key"] for e in items["keys"]] == [f"item-{n:02d}" for n in range(20, 25)]
    assert items["matching"] == 25 and items["keys"][0]["preview"] == "value 20"

    note = dev.admin.get(f"/dev/kv/{quote('notes:alpha', safe='')}").json()
    assert note["format"] == "json" and note["collection"] == "notes"
    assert note["json"]["text"] == "alpha" and note["json"]["token"] == "[REDACTED]"
    assert note["redacted"] is True
    note_entry = next(e for e in listing["keys"] if e["key"] == "notes:alpha")
    assert "kv-token-value" not in note_entry["preview"]

    binary = dev.admin.get("/dev/kv/binary").json()
    assert binary["format"] == "base64" and binary["size"] == 256
    echo = dev.admin.get("/dev/kv/secret-echo").json()
    assert echo["format"] == "text" and API_KEY not in echo["text"] and echo["redacted"]
    text = dev.admin.get("/dev/kv/item-03").json()
    assert (text["format"], text["text"], text["redacted"]) == ("text", "value 3", False)

    assert dev.admin.delete("/dev/kv/item-03").status_code == 200
    assert dev.admin.get("/dev/kv/item-03").status_code == 404
    assert_app_error(dev.admin.delete("/dev/kv/item-03"), 404)
    assert dev.server.local.api.kv_get("item-03") is None


def test_kv_keys_with_slashes_and_spaces_are_percent_encoded(dev: Dev) -> None:
    key = "odd/key with spaces?"
    dev.server.local.api.kv_set(key, b'{"ok": true}')
    listed = dev.admin.get("/dev/kv", params={"prefix": "odd/"}).json()["keys"]
    assert [e["key"] for e in listed] == [key]
    shown = dev.admin.get(f"/dev/kv/{quote(key, safe='')}").json()
    assert shown["key"] == key and shown["json"] == {"ok": True}
    assert dev.admin.delete(f"/dev/kv/{quote(key, safe='')}").status_code == 200


def test_the_panel_routes_need_a_system_admin_and_good_parameters(dev: Dev) -> None:
    plain = dev.user("pat")
    for path in ("/dev/hooks", "/dev/logs", "/dev/kv", "/dev/kv/binary"):
        assert_app_error(plain.http.get(path), 403, "api.context.permissions.app_error")
    assert_app_error(plain.http.delete("/dev/kv/binary"), 403)
    other_site = {"Origin": "http://evil.example"}
    assert_app_error(dev.admin.delete("/dev/kv/binary", headers=other_site), 403)
    assert dev.admin.get("/dev/kv/binary").status_code == 200
    assert_app_error(dev.admin.get("/dev/logs", params={"level": "loud"}), 400)
    assert_app_error(dev.admin.get("/dev/hooks", params={"failed": "maybe"}), 400)
    assert_app_error(dev.admin.get("/dev/kv", params={"page": "-1"}), 400)
    assert_app_error(dev.admin.post("/dev/kv"), 405)
    big = dev.admin.get("/dev/logs", params={"per_page": 100000}).json()
    assert big["per_page"] == 200


def test_the_settings_form_has_what_it_needs_from_the_rest_api(dev: Dev) -> None:
    plugins = dev.admin.get("/api/v4/plugins").json()["active"]
    schema = next(p for p in plugins if p["id"] == PLUGIN_ID)["settings_schema"]
    assert [s["key"] for s in schema["settings"]][:2] == ["enabled", "max_links"]
    assert schema["sections"][0]["settings"][0]["secret"] is True
    config = dev.admin.get("/api/v4/config").json()
    mine = config["PluginSettings"]["Plugins"][PLUGIN_ID]
    assert mine["api_key"] == FAKE_SETTING and API_KEY not in str(config)

    listener = Listener(f"{dev.server.url}/dev/events")
    try:
        patch = {"PluginSettings": {"Plugins": {PLUGIN_ID: {"max_links": "many"}}}}
        assert dev.admin.put("/api/v4/config/patch", json=patch).status_code == 200
        change = listener.wait_for(
            lambda name, m: name == "dev_hook" and m["data"]["hook"] == "OnConfigurationChange"
        )
        assert change["data"]["outcome"] == "done"
        invalid = listener.wait_for(
            lambda name, m: name == "dev_log" and "problems" in m["data"]["fields"]
        )
        assert "max_links" in invalid["data"]["fields"]["problems"]
        assert invalid["data"]["level"] == "error"
    finally:
        listener.close()
        fix = {"PluginSettings": {"Plugins": {PLUGIN_ID: {"max_links": 3}}}}
        assert dev.admin.put("/api/v4/config/patch", json=fix).status_code == 200


def test_the_status_tells_reloads_and_the_last_failure(dev: Dev) -> None:
    status = dev.admin.get("/dev/status").json()
    assert status["state"] == "running" and status["pid"] > 0
    assert status["reloads"] == 0 and status["generation"] == 1
    assert status["last_error"] is None and status["last_traceback"] is None


def test_a_failed_reload_shows_its_readable_traceback(tmp_path: Path) -> None:
    folder = copy_plugin(WORKSHOP, tmp_path / "workshop")
    server, _output = start_dev(folder)
    try:
        source = folder / "server" / "plugin.py"
        source.write_text(
            source.read_text().replace(
                'self.logger.info("workshop activated")', "raise RuntimeError('no database')"
            )
        )
        assert not server.local.reload()
        status = httpx.get(f"{server.url}/dev/status", timeout=30).json()
        assert "no database" in status["last_error"] and status["reloads"] == 0
        assert "server/plugin.py" in status["last_traceback"]
        assert status["state"] == "running"  # the previous version keeps serving
    finally:
        server.stop()


def test_on_a_cluster_the_hook_log_names_the_node_that_served_each_call(tmp_path: Path) -> None:
    folder = copy_plugin(WORKSHOP, tmp_path / "workshop")
    server, _output = start_dev(folder, nodes=3)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for number in range(3):
                answer = client.post(
                    "/api/v4/posts", json={"channel_id": "town-square", "message": f"n{number}"}
                )
                assert answer.status_code == 201
            assert client.get(f"/plugins/{PLUGIN_ID}/crash").status_code == 500
            calls = client.get("/dev/hooks", params={"hook": "MessageWillBePosted"}).json()
            assert {call["node"] for call in calls["calls"]} == {0, 1, 2}
            crash = eventually(
                lambda: client.get("/dev/hooks", params={"failed": "true"}).json()["calls"],
                lambda found: found,
            )[0]
            assert crash["args"] == "GET /crash" and crash["node"] in (0, 1, 2)
            assert crash["origin"].endswith("in serve_http")
    finally:
        server.stop()
