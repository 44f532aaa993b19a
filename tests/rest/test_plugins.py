"""Plugin management on the dev server: an uploaded bundle is checked as the server checks
it, unpacked into the state folder and started in place of the running version; enable,
disable and the statuses, with the server's state numbers."""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.rest.conftest import REACTOR, Dev, assert_app_error, running_dev
from tests.support.dev import copy_plugin

PLUGIN = "com.example.reactor"
RUNNING, FAILED_TO_START, NOT_RUNNING = 2, 3, 0


def bundle_of(folder: Path, top: str = PLUGIN, extra: dict[str, bytes] | None = None) -> bytes:
    """A plugin archive of ``folder``'s files under the top folder ``top``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            if (
                path.is_file()
                and "__pycache__" not in path.parts
                and ".mattermost-dev" not in path.parts
            ):
                archive.add(
                    path,
                    f"{top}/{path.relative_to(folder)}" if top else str(path.relative_to(folder)),
                )
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def upload(client: httpx.Client, data: bytes, *, force: bool = True) -> httpx.Response:
    return client.post(
        "/api/v4/plugins",
        files={"plugin": ("plugin.tar.gz", data, "application/gzip")},
        data={"force": "true" if force else "false"},
    )


def status(dev: Dev) -> dict[str, Any]:
    statuses = dev.admin.get("/api/v4/plugins/statuses").json()
    found: dict[str, Any] = next(s for s in statuses if s["plugin_id"] == PLUGIN)
    return found


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    """A dev server of its own for each test: these change the running plugin."""
    with running_dev(tmp_path / "reactor") as running:
        yield running


def _version(folder: Path, tmp_path: Path, version: str, source: str | None = None) -> Path:
    copy = copy_plugin(folder, tmp_path / f"v{version}")
    manifest = json.loads((copy / "plugin.json").read_text())
    manifest["version"] = version
    (copy / "plugin.json").write_text(json.dumps(manifest))
    if source is not None:
        (copy / "server" / "plugin.py").write_text(source)
    return copy


def test_an_uploaded_bundle_replaces_the_running_version(dev: Dev, tmp_path: Path) -> None:
    assert status(dev)["state"] == RUNNING and status(dev)["version"] == "0.1.0"
    generation = dev.server.status()["generation"]
    newer = _version(REACTOR, tmp_path, "0.2.0")
    refused = upload(dev.admin, bundle_of(newer), force=False)
    assert_app_error(refused, 400, "app.plugin.install_id.app_error")

    answer = upload(dev.admin, bundle_of(newer))
    assert answer.status_code == 201
    manifest = answer.json()
    assert manifest["id"] == PLUGIN and manifest["version"] == "0.2.0"
    now = status(dev)
    assert now["state"] == RUNNING and now["version"] == "0.2.0" and now["error"] == ""
    assert dev.server.status()["generation"] == generation + 1
    running_from = Path(now["plugin_path"])
    assert dev.server.plugins.folder in running_from.parents  # unpacked into the state folder
    assert (running_from / "plugin.json").is_file()
    assert dev.admin.get("/api/v4/plugins").json()["active"][0]["version"] == "0.2.0"
    # The new process serves hooks.
    assert (
        dev.admin.post(
            "/api/v4/commands/execute", json={"channel_id": "town-square", "command": "/whisper"}
        ).json()["text"]
        == "psst"
    )


def test_a_bundle_that_fails_to_start_is_reported_and_the_old_one_keeps_serving(
    dev: Dev, tmp_path: Path
) -> None:
    broken = _version(
        REACTOR, tmp_path, "0.3.0", source="raise RuntimeError('broken on purpose')\n"
    )
    answer = upload(dev.admin, bundle_of(broken))
    error = assert_app_error(answer, 500, "app.plugin.restart.app_error")
    assert "broken on purpose" in error["detailed_error"]
    failed = status(dev)
    assert failed["state"] == FAILED_TO_START and "broken on purpose" in failed["error"]
    assert dev.server.local.running  # the previous version still answers
    assert (
        dev.admin.post(
            "/api/v4/commands/execute", json={"channel_id": "town-square", "command": "/whisper"}
        ).status_code
        == 200
    )


def test_disable_and_enable(dev: Dev) -> None:
    assert dev.admin.post(f"/api/v4/plugins/{PLUGIN}/disable").json() == {"status": "OK"}
    assert status(dev)["state"] == NOT_RUNNING and not dev.server.local.running
    assert dev.server.local.server.config["PluginSettings"]["PluginStates"][PLUGIN] == {
        "Enable": False
    }
    # Its hooks no longer run: the post goes through without them, the command is gone.
    assert dev.admin.get(f"/plugins/{PLUGIN}/x").status_code == 503
    assert dev.admin.post(f"/api/v4/plugins/{PLUGIN}/enable").json() == {"status": "OK"}
    assert status(dev)["state"] == RUNNING and dev.server.local.running
    assert_app_error(dev.admin.post("/api/v4/plugins/com.example.nothing/enable"), 404)


@pytest.mark.parametrize(
    ("data", "error_id"),
    [
        (b"not an archive", "app.plugin.extract.app_error"),
        (bundle_of(REACTOR, extra={"../escape.txt": b"x"}), "app.plugin.extract.app_error"),
        (bundle_of(REACTOR / "server"), "app.plugin.manifest.app_error"),
    ],
    ids=["not-tar", "path-outside", "no-manifest"],
)
def test_what_the_server_refuses(dev: Dev, data: bytes, error_id: str) -> None:
    before = status(dev)
    assert_app_error(upload(dev.admin, data), 400, error_id)
    assert status(dev) == before
    assert list(dev.server.plugins.folder.glob("upload-*")) == []  # nothing left behind


def test_bad_ids_and_other_plugins_are_refused(dev: Dev, tmp_path: Path) -> None:
    for plugin_id, error_id in (
        ("x", "app.plugin.invalid_id.app_error"),
        ("com.example.other", "app.plugin.install.app_error"),
    ):
        copy = copy_plugin(REACTOR, tmp_path / plugin_id)
        manifest = json.loads((copy / "plugin.json").read_text())
        (copy / "plugin.json").write_text(json.dumps({**manifest, "id": plugin_id}))
        assert_app_error(upload(dev.admin, bundle_of(copy, top=plugin_id)), 400, error_id)
    assert status(dev)["state"] == RUNNING


def test_uploads_need_an_admin_and_enabled_uploads(dev: Dev) -> None:
    login = dev.admin.post(
        "/api/v4/users", json={"username": "pat", "email": "p@x.io", "password": "Password1!"}
    )
    assert login.status_code == 201
    token = httpx.post(
        timeout=30,
        url=f"{dev.server.url}/api/v4/users/login",
        json={"login_id": "pat", "password": "Password1!"},
    ).headers["Token"]
    with dev.client(token) as pat:
        assert_app_error(upload(pat, bundle_of(REACTOR)), 403, "api.context.permissions.app_error")
        assert_app_error(pat.get("/api/v4/plugins/statuses"), 403)
        assert_app_error(pat.post(f"/api/v4/plugins/{PLUGIN}/disable"), 403)
    assert_app_error(
        dev.admin.post(
            "/api/v4/plugins", data={"force": "true"}, files={"other": ("x", b"y", "text/plain")}
        ),
        400,
        "api.plugin.upload.no_file.app_error",
    )
    dev.admin.put("/api/v4/config/patch", json={"PluginSettings": {"EnableUploads": False}})
    assert_app_error(
        upload(dev.admin, bundle_of(REACTOR)), 501, "app.plugin.upload_disabled.app_error"
    )


def test_status_changes_are_announced(dev: Dev) -> None:
    mark = time.monotonic()
    dev.admin.post(f"/api/v4/plugins/{PLUGIN}/disable")
    recent = list(dev.server.events._recent)
    changes = [e for e in recent if e.name == "plugin_statuses_changed"]
    assert changes, "no plugin_statuses_changed event"
    data = json.loads(changes[-1].frame.decode().split("data: ", 1)[1])
    assert data["data"]["plugin_statuses"][0]["state"] == NOT_RUNNING
    assert time.monotonic() - mark < 30
