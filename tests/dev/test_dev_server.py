"""``mattermost-plugin dev`` as a real subprocess over real sockets: the README's command,
Mattermost's answers, streaming, reloads, and faults (crash, deadline, broken edit, restart).
"""

from __future__ import annotations

import http.client
import time
from pathlib import Path

import pytest
from tests.support.dev import WORKBENCH, copy_plugin, dev_server

REPO = Path(__file__).resolve().parent.parent.parent
PLUGIN = "/plugins/com.example.workbench"


@pytest.fixture
def workbench(tmp_path: Path) -> Path:
    return copy_plugin(WORKBENCH, tmp_path / "workbench")


def test_readme_command_runs_hello_python(tmp_path: Path) -> None:
    folder = copy_plugin(REPO / "examples" / "hello_python", tmp_path / "hello_python")
    started = time.monotonic()
    with dev_server(folder) as dev:
        ready = time.monotonic() - started
        assert dev.status()["state"] == "running"
        created = dev.post("Hello everyone!")
        assert created.status == 201
        post = created.json()
        assert post["message"] == "Hello everyone!" and len(post["id"]) == 26
        assert post["channel_id"] == dev.status()["channel_id"]

        rejected = dev.post("this has a badword in it")
        assert rejected.status == 400
        assert rejected.json()["message"] == "Post rejected by plugin. Message blocked"
        assert rejected.json()["status_code"] == 400

        answer = dev.request(
            "POST",
            "/api/v4/commands/execute",
            {"channel_id": "town-square", "command": "/hello dev"},
        )
        assert answer.status == 200
        assert answer.json()["text"] == "Hello, dev! (from Python, asked by @admin)"

        unknown = dev.request(
            "POST", "/api/v4/commands/execute", {"channel_id": "town-square", "command": "/nope"}
        )
        assert unknown.status == 404
        assert unknown.json()["id"] == "api.command.execute_command.not_found.app_error"

        # The plugin's logs are printed with their levels, and so are the hooks.
        dev.wait_output(r"log\s+INFO\s+Hello Python plugin activated!")
        dev.wait_output(r"hook\s+MessageWillBePosted → rejected: 'Message blocked'")
    # The default state file is in the plugin folder, ignored by git.
    assert (folder / ".mattermost-dev" / "state.db").is_file()
    assert (folder / ".mattermost-dev" / ".gitignore").read_text().strip().endswith("*")
    assert ready < 10


def test_plugin_http_is_streamed_and_acts_as_a_user(workbench: Path) -> None:
    with dev_server(workbench, "--in-memory") as dev:
        status = dev.request("GET", f"{PLUGIN}/status")
        assert status.status == 200
        assert status.json()["user"] == dev.status()["user_id"]  # the default session
        anonymous = dev.request("GET", f"{PLUGIN}/status", headers={"Mattermost-User-Id": ""})
        assert anonymous.json()["user"] == ""

        echoed = dev.request("POST", f"{PLUGIN}/echo", body={"big": "x" * 200_000})
        assert echoed.status == 200 and len(echoed.body) > 200_000

        # Chunked, and each chunk arrives when the plugin sends it.
        connection = http.client.HTTPConnection("127.0.0.1", dev.port, timeout=10)
        connection.request("GET", f"{PLUGIN}/stream")
        response = connection.getresponse()
        assert response.getheader("Transfer-Encoding") == "chunked"
        arrivals = []
        started = time.monotonic()
        while line := response.readline():
            arrivals.append((line, time.monotonic() - started))
        connection.close()
        assert [line for line, _ in arrivals] == [b"tick 0\n", b"tick 1\n", b"tick 2\n"]
        assert arrivals[0][1] < 0.15 and arrivals[2][1] >= 0.35

        assert dev.request("GET", "/plugins/other.plugin/x").status == 404
        assert dev.request("GET", f"{PLUGIN}/missing").status == 404
        assert dev.request("GET", "/api/v4/system/ping").json()["status"] == "OK"


def test_crash_mid_hook_restarts_the_plugin_and_keeps_serving(workbench: Path) -> None:
    with dev_server(workbench, "--in-memory") as dev:
        pid = dev.status()["pid"]
        # The hook's process dies: the post goes through (fail open), as on the server.
        crashed = dev.post("crash")
        assert crashed.status == 201
        dev.wait_output(r"MessageWillBePosted → failed: the plugin crashed \(exit code 3\)")
        status = dev.wait_for(lambda s: s["restarts"] >= 1 and s["state"] == "running")
        assert status["pid"] != pid
        assert dev.post("spam again").status == 400  # hooks run again
        # A crash inside ServeHTTP: a clean error, then the plugin is back.
        assert dev.request("GET", f"{PLUGIN}/crash").status in (500, 503)
        dev.wait_for(lambda s: s["restarts"] >= 2 and s["state"] == "running")
        assert dev.request("GET", f"{PLUGIN}/status").status == 200


def test_hook_past_its_deadline(workbench: Path) -> None:
    with dev_server(workbench, "--in-memory", "--hook-timeout", "1") as dev:
        started = time.monotonic()
        slow = dev.post("slow 1.5")
        elapsed = time.monotonic() - started
        assert slow.status == 201  # fail open after the deadline
        assert 0.9 < elapsed < 2.5
        # The SDK gives up on the handler just before the host's deadline and says so in the
        # plugin's log (printed at its level); the host keeps the post either way.
        dev.wait_output(
            r"(ERROR .*did not finish within)|(MessageWillBePosted → failed: no answer within)"
        )
        assert dev.post("fine").status == 201
        assert dev.status()["state"] == "running"


def test_broken_edit_keeps_the_last_good_version(workbench: Path) -> None:
    source = workbench / "server" / "plugin.py"
    with dev_server(workbench, "--in-memory") as dev:
        assert dev.request("GET", f"{PLUGIN}/status").json()["version"] == "v1"
        assert dev.post("counted").status == 201

        source.write_text(source.read_text().replace('VERSION = "v1"', 'VERSION = "v2'))
        status = dev.wait_for(lambda s: s["last_error"] is not None)
        assert "SyntaxError" in status["last_error"]
        assert status["generation"] == 1 and status["state"] == "running"
        dev.wait_output(r"reloading failed \(the previous version keeps running\)")
        assert dev.request("GET", f"{PLUGIN}/status").json()["version"] == "v1"

        source.write_text(source.read_text().replace('VERSION = "v2', 'VERSION = "v2"'))
        status = dev.wait_for(lambda s: s["generation"] == 2)
        assert status["last_error"] is None
        answer = dev.request("GET", f"{PLUGIN}/status").json()
        assert answer["version"] == "v2"
        assert answer["posts"] == 1  # the KV store outlived the old process
        # The new version registered its commands, whatever the old one did on the way out.
        assert (
            dev.request(
                "POST",
                "/api/v4/commands/execute",
                {"channel_id": "town-square", "command": "/echo hi"},
            ).status
            == 200
        )


def test_state_survives_a_restart_of_the_dev_server(workbench: Path, tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with dev_server(workbench, "--db", str(db)) as dev:
        post = dev.post("keep me").json()
        reply = dev.request(
            "POST", "/api/v4/posts", {"channel_id": post["channel_id"], "message": "ping"}
        ).json()
        first = dev.status()
        # MessageHasBeenPosted runs after the 201, as on the server: wait for its count.
        deadline = time.monotonic() + 5
        while dev.request("GET", f"{PLUGIN}/status").json()["posts"] < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    with dev_server(workbench, "--db", str(db)) as dev:
        second = dev.status()
        assert (second["user_id"], second["channel_id"]) == (first["user_id"], first["channel_id"])
        stored = dev.request("GET", f"/api/v4/posts/{post['id']}")
        assert stored.status == 200 and stored.json()["message"] == "keep me"
        posts = dev.request("GET", "/api/v4/channels/town-square/posts").json()
        messages = [posts["posts"][i]["message"] for i in posts["order"]]
        assert {"keep me", "ping", "pong"} <= set(messages)  # pong: the bot's API reply
        assert reply["id"] in posts["order"]
        assert dev.request("GET", f"{PLUGIN}/status").json()["posts"] == 2


def test_a_second_dev_server_on_the_same_state_file_is_refused(
    workbench: Path, tmp_path: Path
) -> None:
    db = tmp_path / "state.db"
    with dev_server(workbench, "--db", str(db)):
        import subprocess
        import sys

        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "mattermost_plugin.cli",
                "dev",
                str(workbench),
                "--port",
                "0",
                "--db",
                str(db),
            ],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert second.returncode == 1
        assert "in use by another process" in second.stderr
