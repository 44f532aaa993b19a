"""The hook log on its own: bounded memory, short argument views without secrets, and each
failure matched to the call it belongs to whichever arrives first."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mattermost_plugin._pb.pluginapi.v1 import file_pb2, hooks_message_pb2, post_pb2
from mattermost_plugin.host._dev_hooklog import MAX_ARGS_VIEW, HookLog, args_view
from mattermost_plugin.host._local_types import Event, HookCallInfo
from mattermost_plugin.logging import REDACTED, Redactor

SECRET = "sk-very-secret-value"
STACK = (
    "Traceback (most recent call last):\n"
    '  File "/plugins/demo/server/plugin.py", line 7, in handler\n'
    "    int(text)\n"
    "ValueError: bad\n"
)


def hook_log(keep: int = 100) -> tuple[HookLog, list[dict[str, Any]]]:
    published: list[dict[str, Any]] = []
    log = HookLog(
        redactor=lambda: Redactor(["api_key"], [SECRET]),
        plugin_dir=lambda: Path("/plugins/demo"),
        publish=published.append,
        keep=keep,
    )
    return log, published


def ended(log: HookLog, hook: str, message: str = "hi", level: str = "info") -> None:
    log.hook_started(hook)
    request = hooks_message_pb2.MessageWillBePostedRequest(post=post_pb2.Post(message=message))
    log.hook_ended(HookCallInfo(hook, request, "allowed", level, 0.002))


def failure(hook: str, at: float | None = None) -> Event:
    fields = {"hook": hook, "stacktrace": STACK}
    return Event("log", f"hook {hook}: handler failed: bad", "error", fields, at or time.time())


def test_the_log_keeps_only_the_latest_calls() -> None:
    log, published = hook_log(keep=3)
    for number in range(5):
        ended(log, "MessageWillBePosted", f"m{number}")
    page = log.page()
    assert [call["id"] for call in page["calls"]] == [5, 4, 3]
    assert (page["kept"], page["total"], len(published)) == (3, 5, 5)


def test_a_failure_logged_after_its_call_is_attached_and_published_again() -> None:
    log, published = hook_log()
    ended(log, "MessageWillBePosted")
    log.add_log(failure("MessageWillBePosted"))
    call = log.page()["calls"][0]
    assert call["failed"] and call["level"] == "error" and call["error"].endswith("bad")
    assert call["origin"] == "server/plugin.py:7 in handler"
    assert published[-1]["id"] == published[0]["id"] == call["id"]


def test_a_failure_logged_while_its_call_runs_goes_to_that_call_not_the_previous_one() -> None:
    log, _published = hook_log()
    ended(log, "MessageWillBePosted", "first")
    log.hook_started("MessageWillBePosted")
    log.add_log(failure("MessageWillBePosted"))
    request = hooks_message_pb2.MessageWillBePostedRequest(post=post_pb2.Post(message="second"))
    log.hook_ended(HookCallInfo("MessageWillBePosted", request, "allowed", "info", 0.001))
    second, first = log.page()["calls"]
    assert second["failed"] and "second" in second["args"]
    assert not first["failed"]


def test_an_old_failure_is_not_pinned_on_a_later_call() -> None:
    log, _published = hook_log()
    log.add_log(failure("OnActivate", at=time.time() - 60))
    ended(log, "OnActivate")
    assert not log.page()["calls"][0]["failed"]
    log.add_log(Event("log", "just a warning", "warn", {"hook": "OnActivate"}))
    assert not log.page(failed=True)["calls"]


def test_args_show_bytes_as_their_length_and_leave_out_the_context() -> None:
    request = hooks_message_pb2.FileWillBeUploadedRequest(
        file_info=file_pb2.FileInfo(name="report.pdf", size=3), file_content=b"x" * 10_000_000
    )
    shown = args_view(request, Redactor())
    assert '"file_content":"<10000000 bytes>"' in shown and "report.pdf" in shown
    assert "context" not in shown


@given(
    message=st.text(max_size=2000),
    props=st.dictionaries(st.text(max_size=30), st.text(max_size=300), max_size=12),
    hidden=st.booleans(),
)
def test_args_are_short_and_never_show_secrets(
    message: str, props: dict[str, str], hidden: bool
) -> None:
    generated = message
    if hidden:
        message = f"{message} {SECRET} {message}"
        props = {**props, "api_key": "plain-value-that-is-secret"}
    post = post_pb2.Post(message=message)
    for key, value in props.items():
        post.props[key] = value
    shown = args_view(
        hooks_message_pb2.MessageWillBePostedRequest(post=post), Redactor(["api_key"], [SECRET])
    )
    assert len(shown) <= MAX_ARGS_VIEW
    assert SECRET not in shown and "plain-value-that-is-secret" not in shown
    if "sk-very" not in generated and "sk-very" not in str(props):
        assert "sk-very" not in shown  # not even a cut part of it
    if hidden and len(shown) < MAX_ARGS_VIEW:
        assert REDACTED in shown
