"""``mattermost-plugin deploy`` and ``logs`` end to end: the commands against a
``mattermost-plugin dev`` subprocess on a random port, through its REST API only."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from tests.support.cli import run_cli
from tests.support.dev import REPO, DevProcess, copy_plugin, dev_server

REACTOR = REPO / "tests" / "dev" / "plugins" / "reactor"
PLUGIN = "com.example.reactor"


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
    folder = copy_plugin(REACTOR, tmp_path_factory.mktemp("deploy") / "reactor")
    with dev_server(folder, "--in-memory", "--no-reload") as running:
        yield running


def admin_token(dev: DevProcess) -> str:
    line = dev.wait_output(r"^\s+token\s+[a-z0-9]{26}")
    return line.split()[1]


def source_copy(tmp_path: Path, version: str, source: str | None = None) -> Path:
    folder = copy_plugin(REACTOR, tmp_path / f"reactor-{version}")
    manifest = json.loads((folder / "plugin.json").read_text())
    (folder / "plugin.json").write_text(json.dumps({**manifest, "version": version}))
    if source is not None:
        (folder / "server" / "plugin.py").write_text(source)
    return folder


def test_deploy_bundles_uploads_enables_and_reports(dev: DevProcess, tmp_path: Path) -> None:
    folder = source_copy(tmp_path, "1.0.0")
    generation = dev.status()["generation"]
    result = run_cli(
        "deploy", folder, "--url", f"http://127.0.0.1:{dev.port}", "--token", admin_token(dev)
    )
    assert result.exit_code == 0, result.stderr
    assert "uploaded com.example.reactor 1.0.0" in result.stderr
    assert "com.example.reactor 1.0.0 is running on http://127.0.0.1" in result.stderr
    assert admin_token(dev) not in result.stderr + result.stdout  # never printed
    assert (folder / "dist" / "com.example.reactor-1.0.0.tar.gz").is_file()
    status = dev.status()
    assert status["generation"] == generation + 1 and status["state"] == "running"
    assert "/plugins/" in status["plugin_dir"] and status["plugin_dir"] != str(folder)

    # The archive itself deploys too, with the token from the environment.
    archive = folder / "dist" / "com.example.reactor-1.0.0.tar.gz"
    again = subprocess.run(
        [sys.executable, "-m", "mattermost_plugin.cli", "deploy", str(archive)],
        env={
            "PATH": "/usr/bin:/bin",
            "MM_SERVICESETTINGS_SITEURL": f"http://127.0.0.1:{dev.port}",
            "MM_ADMIN_TOKEN": admin_token(dev),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert dev.status()["generation"] == generation + 2


def test_a_plugin_that_fails_to_start(dev: DevProcess, tmp_path: Path) -> None:
    folder = source_copy(tmp_path, "2.0.0", source="raise SystemExit('no luck today')\n")
    result = run_cli(
        "deploy",
        folder,
        "--url",
        f"http://127.0.0.1:{dev.port}",
        "--token",
        admin_token(dev),
        "--no-check",
    )
    assert result.exit_code == 1
    assert re.search(
        r"✗ com\.example\.reactor 2\.0\.0 failed to start: .*no luck today", result.stderr, re.S
    ), result.stderr
    assert "mattermost-plugin logs" in result.stderr
    assert dev.status()["state"] == "running"  # the previous version keeps serving


@pytest.fixture
def not_mattermost() -> Iterator[str]:
    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html>hello</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_clear_errors(dev: DevProcess, tmp_path: Path, not_mattermost: str) -> None:
    url = f"http://127.0.0.1:{dev.port}"
    archive = tmp_path / "bundle.tar.gz"
    archive.write_bytes(b"not an archive")

    def deploy(*args: str | Path) -> str:
        result = run_cli("deploy", *args)
        assert result.exit_code == 1, (args, result.stderr)
        return " ".join(result.stderr.split())

    # A server that is not there, a missing token, a bad one, a user who may not.
    closed = deploy(
        REACTOR,
        "--url",
        "http://127.0.0.1:9",
        "--token",
        "t",
        "--no-check",
    )
    assert "cannot reach http://127.0.0.1:9" in closed
    assert "no token for" in deploy(REACTOR, "--url", url, "--no-check")
    assert "no server given" in deploy(REACTOR, "--no-check")
    assert "not a server URL" in deploy(
        REACTOR, "--url", "127.0.0.1:8065", "--token", "t", "--no-check"
    )
    refused = deploy(REACTOR, "--url", url, "--token", "x" * 26, "--no-check")
    assert "refused the token (401" in refused and "x" * 26 not in refused
    login = httpx.post(
        timeout=30,
        url=f"{url}/api/v4/users",
        json={"username": "dora", "email": "d@x.io", "password": "Password1!"},
    )
    assert login.status_code == 201
    token = httpx.post(
        timeout=30,
        url=f"{url}/api/v4/users/login",
        json={"login_id": "dora", "password": "Password1!"},
    ).headers["Token"]
    forbidden = deploy(REACTOR, "--url", url, "--token", token, "--no-check")
    assert "does not let this token's user POST /api/v4/plugins (403" in forbidden
    assert "not as Mattermost does" in deploy(
        REACTOR, "--url", not_mattermost, "--token", "t", "--no-check"
    )
    assert "no local-mode socket at" in deploy(
        REACTOR, "--local-socket", tmp_path / "none.socket", "--no-check"
    )
    # Bundles the server would refuse are refused before they are sent.
    assert "the server would refuse this bundle" in deploy(archive, "--url", url, "--token", "t")
    other = copy_plugin(REACTOR, tmp_path / "other")
    manifest = json.loads((other / "plugin.json").read_text())
    (other / "plugin.json").write_text(json.dumps({**manifest, "id": "com.example.other"}))
    refused_bundle = deploy(other, "--url", url, "--token", admin_token(dev), "--no-check")
    assert (
        "refused the bundle (400)" in refused_bundle
        and "app.plugin.install.app_error" in refused_bundle
    )
    # Uploads turned off on the server.
    patch = {"PluginSettings": {"EnableUploads": False}}
    assert httpx.put(timeout=30, url=f"{url}/api/v4/config/patch", json=patch).status_code == 200
    try:
        disabled = deploy(REACTOR, "--url", url, "--token", admin_token(dev), "--no-check")
        assert "does not take plugin uploads" in disabled and "EnableUploads" in disabled
    finally:
        patch = {"PluginSettings": {"EnableUploads": True}}
        assert (
            httpx.put(timeout=30, url=f"{url}/api/v4/config/patch", json=patch).status_code == 200
        )


def test_logs_shows_the_plugins_lines_and_follows(dev: DevProcess, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{dev.port}"
    token = admin_token(dev)
    shown = run_cli("logs", REACTOR, "--url", url, "--token", token, "-n", "1000")
    assert shown.exit_code == 0, shown.stderr
    assert re.search(r"INFO\s+reactor activated", shown.stdout), shown.stdout
    as_json = run_cli("logs", "--plugin-id", PLUGIN, "--url", url, "--token", token, "--json")
    lines = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert lines and all(line["plugin_id"] == PLUGIN for line in lines)

    follow = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mattermost_plugin.cli",
            "logs",
            str(REACTOR),
            "--url",
            url,
            "--token",
            token,
            "--follow",
            "--interval",
            "0.2",
            "-n",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
    try:
        time.sleep(1.5)  # started, and printed nothing of the past (-n 0)
        post = httpx.post(
            timeout=30,
            url=f"{url}/api/v4/posts",
            json={"channel_id": "town-square", "message": "r"},
        ).json()
        httpx.post(
            timeout=30,
            url=f"{url}/api/v4/reactions",
            json={"user_id": post["user_id"], "post_id": post["id"], "emoji_name": "eyes"},
        )
        assert follow.stdout is not None
        line = follow.stdout.readline()
        assert re.search(r"WARN\s+reaction\s+emoji=eyes", line), line
    finally:
        follow.terminate()
        follow.wait(10)
