"""The fake Mattermost's trigger ids and ``OpenInteractiveDialog``, through the typed client
over real gRPC: only a trigger id it made, less than 3 s old, opens a dialog, for the user
it names. And the signing key, made once however many nodes start at once."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from mattermost_plugin import ValidationError
from mattermost_plugin.client import PluginAPIClient
from mattermost_plugin.host._fake_dialogs import TRIGGER_TIMEOUT_MS, OpenedDialog
from mattermost_plugin.host.fake_server import FakeMattermost, serve
from mattermost_plugin.interactive import KEY_NAME
from mattermost_plugin.interactive._signing import load_key
from mattermost_plugin.models import Dialog, OpenDialogRequest


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def host() -> Iterator[tuple[FakeMattermost, PluginAPIClient, Clock]]:
    clock = Clock()
    fake = FakeMattermost(clock=clock)
    server, address = serve(fake)
    try:
        with PluginAPIClient(target=address, retries=0) as client:
            yield fake, client, clock
    finally:
        server.stop(None)


def request(trigger_id: str, url: str = "/plugins/com.example.plugin/x") -> OpenDialogRequest:
    return OpenDialogRequest(trigger_id=trigger_id, url=url, dialog=Dialog(title="T"))


def test_a_fresh_trigger_id_opens_a_dialog_for_its_user(
    host: tuple[FakeMattermost, PluginAPIClient, Clock],
) -> None:
    fake, client, clock = host
    seen: list[OpenedDialog] = []
    fake.on_dialog = seen.append
    trigger = fake.new_trigger_id("user1")
    clock.now += (TRIGGER_TIMEOUT_MS - 1) / 1000
    client.open_interactive_dialog(request(trigger))
    (opened,) = fake.dialogs_for("user1")
    assert opened.user_id == "user1" and opened.trigger_id == trigger
    assert opened.request.dialog is not None and opened.request.dialog.title == "T"
    assert seen == [opened]
    assert list(fake.dialogs_for("someone else")) == []


@pytest.mark.parametrize(
    ("make", "error_id"),
    [
        (
            lambda fake, clock: "not base64!",
            "interactive_message.decode_trigger_id.base64_decode_failed",
        ),
        (
            lambda fake, clock: base64.b64encode(b"a:b").decode(),
            "interactive_message.decode_trigger_id.missing_data",
        ),
        (
            lambda fake, clock: base64.b64encode(
                base64.b64decode(fake.new_trigger_id("user1")).replace(b"user1", b"user2")
            ).decode(),
            "interactive_message.decode_trigger_id.verify_signature_failed",
        ),
        (
            lambda fake, clock: FakeMattermost(clock=clock).new_trigger_id("user1"),
            "interactive_message.decode_trigger_id.verify_signature_failed",
        ),
    ],
)
def test_trigger_ids_it_did_not_make_are_refused(
    host: tuple[FakeMattermost, PluginAPIClient, Clock], make: object, error_id: str
) -> None:
    fake, client, clock = host
    trigger = make(fake, clock)  # type: ignore[operator]
    with pytest.raises(ValidationError) as refused:
        client.open_interactive_dialog(request(trigger))
    assert refused.value.error_id == error_id
    assert list(fake.dialogs_for()) == []


def test_an_old_trigger_id_is_refused(host: tuple[FakeMattermost, PluginAPIClient, Clock]) -> None:
    fake, client, clock = host
    trigger = fake.new_trigger_id("user1")
    clock.now += (TRIGGER_TIMEOUT_MS + 1) / 1000
    with pytest.raises(ValidationError) as refused:
        client.open_interactive_dialog(request(trigger))
    assert refused.value.error_id == "interactive_message.decode_trigger_id.expired"
    assert "live for a maximum of 3s" in refused.value.message


def test_a_dialog_needs_a_url(host: tuple[FakeMattermost, PluginAPIClient, Clock]) -> None:
    fake, client, _ = host
    with pytest.raises(ValidationError, match="the dialog has no URL"):
        client.open_interactive_dialog(request(fake.new_trigger_id("user1"), url=""))


def test_nodes_activating_at_once_share_one_signing_key(
    host: tuple[FakeMattermost, PluginAPIClient, Clock],
) -> None:
    """Each node loads the key on activation; the first to store one wins (compare-and-set)
    and every other node reads that one."""
    fake, client, _ = host
    start = threading.Barrier(8)

    def node() -> bytes:
        start.wait()
        return load_key(client)

    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: node(), range(8)))
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    assert fake.kv[KEY_NAME].value == keys[0]
    assert load_key(client) == keys[0]  # and it stays
