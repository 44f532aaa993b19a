"""Secrets at rest and in logs: the dev server's state file is private, and the plugin's
secrets never reach the dev console, the pytest helpers' log capture or the SDK's own log."""

from __future__ import annotations

import io
import os
import stat
import time
import urllib.request
from pathlib import Path

from rich.console import Console
from tests.support.dev import HOSTILE, copy_plugin

from mattermost_plugin.host.dev_server import DevServer, default_db_path
from mattermost_plugin.host.local import LocalMattermost
from mattermost_plugin.host.store import SQLiteStore
from mattermost_plugin.logging import REDACTED

CONFIG = {"WebhookSecret": "hook-s3cr3t-42", "SigningKey": "sign-s3cr3t-42", "Greeting": "hi!"}
SECRETS = ("hook-s3cr3t-42", "sign-s3cr3t-42", "tok-123456", "hunter22", "q-s3cr3t")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_state_file_and_its_folder_are_private(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / ".mattermost-dev").mkdir(mode=0o755)  # made by an older version
    os.chmod(plugin / ".mattermost-dev", 0o755)
    db = default_db_path(plugin)
    assert _mode(db.parent) == 0o700
    store = SQLiteStore(db)
    store.flush({"config": {"x": 1}})
    assert _mode(db) == 0o600
    for extra in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        if extra.exists():
            assert _mode(extra) == 0o600
    store.close()
    # --db in a folder that does not exist yet; an existing file made readable by others.
    other = tmp_path / "new" / "folder" / "state.db"
    SQLiteStore(other).close()
    assert (_mode(other.parent), _mode(other)) == (0o700, 0o600)
    os.chmod(other, 0o644)
    SQLiteStore(other).close()
    assert _mode(other) == 0o600


def test_the_dev_console_hides_secrets(tmp_path: Path) -> None:
    folder = copy_plugin(HOSTILE, tmp_path / "plugin")
    out = io.StringIO()
    server = DevServer(
        folder, port=0, reload=False, console=Console(file=out, width=400, color_system=None)
    )
    server.local.plugin_config = CONFIG
    server.start()
    try:
        url = f"{server.url}/plugins/com.example.hostile/log-secrets?token=q-s3cr3t&page=2"
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.read() == b"logged"
        deadline = time.monotonic() + 5
        while "through the API" not in out.getvalue() or "calling the webhook" not in (
            out.getvalue()
        ):
            assert time.monotonic() < deadline, out.getvalue()
            time.sleep(0.05)
    finally:
        server.stop()
    printed = out.getvalue()
    for secret in SECRETS:
        assert secret not in printed, (secret, printed)
    assert f"calling the webhook with {REDACTED}" in printed
    assert f"token={REDACTED}" in printed and "page=2" in printed
    assert "kv_key=token_count" in printed and "author_id=u1" in printed and "key=k1" in printed
    assert "greeting=hi" in printed


def test_the_pytest_helpers_capture_hides_secrets(tmp_path: Path) -> None:
    folder = copy_plugin(HOSTILE, tmp_path / "plugin")
    with LocalMattermost(folder, plugin_config=CONFIG) as local:
        assert local.get("/log-secrets").status_code == 200
        record = local.wait_for_log("calling the webhook")
        api = local.wait_for_log("through the API")
        supervisor_lines = list(local.supervisor.logs)
    assert record.message == f"calling the webhook with {REDACTED}"
    assert record.fields["SigningKey"] == REDACTED and record.fields["access_token"] == REDACTED
    assert record.fields["config"]["WebhookSecret"] == REDACTED
    assert record.fields["config"]["Greeting"] == "hi!"
    assert (record.fields["kv_key"], record.fields["author_id"]) == ("token_count", "u1")
    assert api.fields == {"password": REDACTED, "key": "k1", "greeting": "hi"}
    captured = repr([*local.logs, *local.events, *supervisor_lines])
    for secret in SECRETS[:4]:
        assert secret not in captured, secret
