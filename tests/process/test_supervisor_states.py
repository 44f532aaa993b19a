"""Hooks on a plugin that is not running raise the SDK's own error, naming the plugin and
its state; the private mTLS folder of a killed plugin does not stay behind."""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

import pytest
from tests.support.process import make_supervisor, wait_until

from mattermost_plugin._mtls import remove_abandoned_dirs
from mattermost_plugin._pb.pluginapi.v1 import hooks_lifecycle_pb2
from mattermost_plugin.host.supervisor import PluginNotRunningError, RestartPolicy

CONFIG_CHANGE = hooks_lifecycle_pb2.OnConfigurationChangeRequest()
PLUGIN_ID = "com.example.process-test"


def test_a_hook_on_a_stopped_plugin_names_the_plugin_and_its_state() -> None:
    sup = make_supervisor()
    with pytest.raises(PluginNotRunningError, match="is stopped, not running"):
        sup.call("OnConfigurationChange", CONFIG_CHANGE)  # never started
    sup.start()
    sup.call("OnConfigurationChange", CONFIG_CHANGE)
    sup.stop()
    for attempt in (
        lambda: sup.call("OnConfigurationChange", CONFIG_CHANGE),
        lambda: sup.hooks,
        lambda: sup.channel,
    ):
        with pytest.raises(PluginNotRunningError) as error:
            attempt()
        assert error.value.plugin_id == PLUGIN_ID and error.value.state == "stopped"
        assert str(error.value) == f"plugin {PLUGIN_ID} is stopped, not running"
        assert isinstance(error.value, RuntimeError)  # what callers caught before
    assert sup.health_check() is False


def test_a_hook_on_a_disabled_plugin_says_why_it_was_disabled() -> None:
    policy = RestartPolicy(
        ping_interval=0.1, ping_failures_per_failure=1, failures_before_disable=1, ping_timeout=0.3
    )
    sup = make_supervisor({"TEST_CRASH_AFTER": "0.2"}, restart_policy=policy)
    sup.start()
    try:
        assert sup.wait_for_state("disabled", timeout=10)
        with pytest.raises(PluginNotRunningError) as error:
            sup.call("OnConfigurationChange", CONFIG_CHANGE)
        assert error.value.state == "disabled"
        assert f"plugin {PLUGIN_ID} is disabled, not running: failed to stay running" in str(
            error.value
        )
        assert "Cannot invoke RPC" not in str(error.value)
    finally:
        sup.stop()


def _plugin_dirs(parent: Path) -> set[Path]:
    return set(parent.glob("mattermost-plugin-*"))


def test_the_mtls_folder_of_a_killed_plugin_is_removed(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    sup = make_supervisor({"TMPDIR": str(tmp_path)}, mtls=True)
    sup.start()
    try:
        (folder,) = _plugin_dirs(tmp_path)
        assert (folder / "owner.lock").is_file()
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
        assert remove_abandoned_dirs(str(tmp_path)) == []  # its owner lives
        process = sup.process
        assert process is not None
        process.kill()  # no chance to clean up
        wait_until(lambda: process.poll() is not None, timeout=5)
        assert folder.exists()
    finally:
        sup.stop()
    assert not _plugin_dirs(tmp_path)


def test_the_next_plugin_start_removes_folders_nobody_owns(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    abandoned = Path(tempfile.mkdtemp(prefix="mattermost-plugin-", dir=tmp_path))
    (abandoned / "owner.lock").touch()
    (abandoned / "grpc.sock").touch()
    alive = Path(tempfile.mkdtemp(prefix="mattermost-plugin-", dir=tmp_path))
    lock = os.open(alive / "owner.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)  # its owner (this test) still runs
    unrelated = Path(tempfile.mkdtemp(prefix="mattermost-plugin-", dir=tmp_path))  # no lock file
    try:
        with make_supervisor({"TMPDIR": str(tmp_path)}, mtls=True) as sup:
            assert sup.state == "running"
            assert not abandoned.exists()
            assert alive.exists() and unrelated.exists()
    finally:
        os.close(lock)
    assert _plugin_dirs(tmp_path) == {alive, unrelated}
