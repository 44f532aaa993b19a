"""The Mattermost variables a plugin process reads (PROTOCOL §2.2 and §6 "Environment"):
``MATTERMOST_PLUGIN_ID`` and the log level, through a real plugin under the supervisor."""

from __future__ import annotations

import pytest
from tests.support.plugins import running_plugin
from tests.support.process import PLUGINS

from mattermost_plugin._pb.pluginapi.v1 import hooks_message_pb2, post_pb2
from mattermost_plugin.logging import HclogRecord

NOISY = PLUGINS / "noisy"
PRINT = hooks_message_pb2.MessageWillBePostedRequest(
    post=post_pb2.Post(id="p" * 26, message="print")
)


def records(env: dict[str, str]) -> list[HclogRecord]:
    """What the plugin logged while starting, running one hook and stopping."""
    seen: list[HclogRecord | str] = []
    with running_plugin(NOISY, env=env, on_log=seen.append) as plugin:
        plugin.call(PRINT, hooks_message_pb2.MessageWillBePostedResponse)
        plugin.wait_log("case done")
    assert all(isinstance(record, HclogRecord) for record in seen)
    return [record for record in seen if isinstance(record, HclogRecord)]


@pytest.mark.parametrize(
    ("env", "module"),
    [
        ({}, "mattermost_plugin.plugin.com.example.noisy"),  # the manifest's id
        (
            {"MATTERMOST_PLUGIN_ID": "com.example.renamed"},
            "mattermost_plugin.plugin.com.example.renamed",
        ),
    ],
)
def test_the_plugin_id_names_the_plugins_logger(env: dict[str, str], module: str) -> None:
    (done,) = [r for r in records(env) if r.message == "case done"]
    assert done.module == module


@pytest.mark.parametrize(
    ("env", "debug"),
    [
        ({}, False),
        ({"MATTERMOST_LOG_LEVEL": "debug"}, True),
        ({"MATTERMOST_LOG_LEVEL": "DEBUG", "MATTERMOST_PLUGIN_LOG_LEVEL": "info"}, False),
        ({"MATTERMOST_LOG_LEVEL": "error", "MATTERMOST_PLUGIN_LOG_LEVEL": "debug"}, True),
    ],
)
def test_the_log_level_comes_from_the_environment(env: dict[str, str], debug: bool) -> None:
    found = records(env)
    assert any(r.message == "plugin server listening" for r in found) == debug
    assert any(r.message == "case done" and r.level == "info" for r in found)
