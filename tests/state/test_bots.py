"""``ensure_bot`` (``mattermost_plugin.bots``) against the fake Mattermost over real gRPC."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import grpc
import pytest
from tests.support.api_client import RunAsync

from mattermost_plugin import AsyncPluginAPIClient, PluginAPIClient, ValidationError
from mattermost_plugin.bots import BotAccountError, async_ensure_bot, ensure_bot
from mattermost_plugin.host.fake_server import FakeAppError, FakeMattermost, serve
from mattermost_plugin.models import User

ICON = (Path(__file__).parent / "plugins" / "state" / "assets" / "icon.png").read_bytes()


@pytest.fixture
def icon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A plugin folder with assets/icon.png, as MATTERMOST_PLUGIN_PATH."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "icon.png").write_bytes(ICON)
    monkeypatch.setenv("MATTERMOST_PLUGIN_PATH", str(tmp_path))
    return tmp_path / "assets" / "icon.png"


def test_creates_once_then_finds_and_updates(
    api: PluginAPIClient, fake: FakeMattermost, icon: Path
) -> None:
    bot_id = ensure_bot(api, "Helper", display_name="Helper", icon="assets/icon.png")
    bot = api.get_bot(bot_id)
    assert (bot.username, bot.display_name, bot.owner_id) == ("helper", "Helper", fake.plugin_id)
    assert fake.profile_images[bot_id] == ICON
    updated = fake.users[bot_id].last_picture_update

    # Same call: same bot, no upload; new fields are applied, omitted ones kept.
    assert ensure_bot(api, "helper", display_name="Helper", icon=icon) == bot_id
    assert fake.users[bot_id].last_picture_update == updated
    assert ensure_bot(api, "helper", description="Helps") == bot_id
    bot = api.get_bot(bot_id)
    assert (bot.display_name, bot.description) == ("Helper", "Helps")
    assert len(fake.bots) == 1

    # A new icon is uploaded once.
    icon.write_bytes(ICON + b"\x00")  # trailing bytes: still a PNG to the server
    assert ensure_bot(api, "helper", icon="assets/icon.png") == bot_id
    assert fake.profile_images[bot_id] == ICON + b"\x00"


def test_reactivates_and_recreates(api: PluginAPIClient, fake: FakeMattermost) -> None:
    bot_id = ensure_bot(api, "helper")
    api.update_bot_active(bot_id, False)
    assert ensure_bot(api, "helper") == bot_id
    assert api.get_bot(bot_id).delete_at == 0

    api.permanent_delete_bot(bot_id)  # the record points at nothing now
    new_id = ensure_bot(api, "helper")
    assert new_id != bot_id
    assert api.get_bot(new_id).username == "helper"


def test_an_existing_bot_is_adopted_and_a_lost_record_rebuilt(
    api: PluginAPIClient, fake: FakeMattermost
) -> None:
    from mattermost_plugin.models import Bot

    made = api.create_bot(Bot(username="older", display_name="Older"))
    assert ensure_bot(api, "older") == made.user_id
    api.kv_set("_bots:older", b"garbage")
    assert ensure_bot(api, "older") == made.user_id
    assert (
        api.kv_get("_bots:older")
        == b'{"user_id":"' + made.user_id.encode() + b'","icon_sha256":""}'
    )


def test_a_renamed_bot_keeps_being_used(api: PluginAPIClient) -> None:
    from mattermost_plugin.models import BotPatch

    bot_id = ensure_bot(api, "helper")
    api.patch_bot(bot_id, BotPatch(username="renamed-by-admin"))
    assert ensure_bot(api, "helper") == bot_id


def test_refusals(api: PluginAPIClient, icon: Path) -> None:
    api.create_user(User(username="alice", email="alice@example.com", password="password123"))
    with pytest.raises(BotAccountError, match="'alice' is a user account, not a bot"):
        ensure_bot(api, "alice")
    with pytest.raises(ValidationError):  # the server's own check of the username
        ensure_bot(api, "no spaces allowed")
    with pytest.raises(ValueError, match="username must be a non-empty str"):
        ensure_bot(api, "")
    with pytest.raises(FileNotFoundError, match=r"cannot read the icon 'assets/missing.png'"):
        ensure_bot(api, "helper", icon="assets/missing.png")
    svg = icon.with_suffix(".svg")
    svg.write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>')
    with pytest.raises(ValueError, match="is an SVG"):
        ensure_bot(api, "helper", icon=svg)
    icon.write_bytes(b"not an image")
    with pytest.raises(ValidationError, match=r"upload_profile_user\.decode"):
        ensure_bot(api, "helper", icon=icon)


class Answers400(FakeMattermost):
    """A server that refuses a taken username with 400, as the real one does, rather than
    the fake's 409."""

    def CreateBot(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.transaction():
            taken = self._find_user(username=request.bot.username.lower()) is not None
        if taken:
            error = FakeAppError("app.user.save.username_exists.app_error", "taken", 400)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{error.error_id}: {error.message}")
        return super().CreateBot(request, context)


@pytest.mark.parametrize("server_class", [FakeMattermost, Answers400])
def test_nodes_racing_create_one_bot(server_class: type[FakeMattermost]) -> None:
    """8 clients (as 8 processes would) ensure the same new bot at once."""
    fake = server_class()
    server, address = serve(fake)
    ids: list[str] = []
    start = threading.Barrier(8)

    def node() -> None:
        with PluginAPIClient(target=address) as client:
            start.wait()
            ids.append(ensure_bot(client, "racer", display_name="Racer"))

    try:
        threads = [threading.Thread(target=node) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        server.stop(grace=None)
    assert len(ids) == 8 and len(set(ids)) == 1
    assert [b.username for b in fake.bots.values()] == ["racer"]


def test_async_twin(aio: RunAsync, api: PluginAPIClient, fake: FakeMattermost, icon: Path) -> None:
    async def body(client: AsyncPluginAPIClient) -> str:
        first = await async_ensure_bot(client, "helper", display_name="H", icon=icon)
        assert await async_ensure_bot(client, "helper", display_name="H2") == first
        return first

    bot_id = aio(body)
    assert api.get_bot(bot_id).display_name == "H2"
    assert ensure_bot(api, "helper") == bot_id  # the sync twin shares the record
    assert fake.profile_images[bot_id] == ICON
