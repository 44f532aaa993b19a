"""Bots and their users."""

from __future__ import annotations

from mattermost_plugin._pb.pluginapi.v1 import (
    api_file_bot_pb2,
    user_pb2,
)
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    FakeAppError,
    bad_request,
    status,
)
from mattermost_plugin.host.fake_server._state import (
    FakeState,
    new_id,
    paged,
    validate_username,
)


class BotsAPI(FakeState):
    # ----------------------------------------------------------------------- bots (status)

    def _sync_bot_user(self, bot: api_file_bot_pb2.Bot) -> None:
        """Mirror a bot's fields onto its user, as model.UserFromBot does."""
        user = self.users[bot.user_id]
        user.username = bot.username
        user.first_name = bot.display_name
        user.bot_description = bot.description
        user.delete_at = bot.delete_at
        user.update_at = bot.update_at

    def _create_bot(self, template: api_file_bot_pb2.Bot) -> api_file_bot_pb2.Bot:
        bot = api_file_bot_pb2.Bot()
        bot.CopyFrom(template)
        bot.username = bot.username.lower()
        validate_username(bot.username, "model.bot.is_valid.username.app_error")
        if len(bot.display_name) > 64 or len(bot.description) > 1024:
            raise bad_request("model.bot.is_valid.description.app_error", "field too long")
        if self._find_user(username=bot.username) is not None:
            raise FakeAppError(
                "app.user.save.username_exists.app_error",
                f"an account with username {bot.username!r} already exists",
                409,
            )
        now = self.now_ms()
        user = user_pb2.User(
            id=new_id(),
            username=bot.username,
            email=f"{bot.username}@localhost",
            first_name=bot.display_name,
            roles="system_user",
            is_bot=True,
            bot_description=bot.description,
            create_at=now,
            update_at=now,
            locale="en",
        )
        self.users[user.id] = user
        bot.user_id = user.id
        bot.owner_id = bot.owner_id or self.plugin_id  # the plugin API's default owner
        bot.create_at = bot.update_at = now
        self.bots[bot.user_id] = bot
        return bot

    @status
    def CreateBot(
        self, request: api_file_bot_pb2.CreateBotRequest, context: Ctx
    ) -> api_file_bot_pb2.CreateBotResponse:
        """Creates a bot and its user (a free username); the plugin owns it by default."""
        return api_file_bot_pb2.CreateBotResponse(bot=self._create_bot(request.bot))

    @status
    def EnsureBotUser(
        self, request: api_file_bot_pb2.EnsureBotUserRequest, context: Ctx
    ) -> api_file_bot_pb2.EnsureBotUserResponse:
        """The bot with this username, created if there is none."""
        username = request.bot.username.lower()
        existing = next((b for b in self.bots.values() if b.username == username), None)
        bot = existing if existing is not None else self._create_bot(request.bot)
        return api_file_bot_pb2.EnsureBotUserResponse(bot_user_id=bot.user_id)

    @status
    def GetBot(
        self, request: api_file_bot_pb2.GetBotRequest, context: Ctx
    ) -> api_file_bot_pb2.GetBotResponse:
        """A bot by its user id (a deactivated one with ``include_deleted``)."""
        bot = self._bot(request.bot_user_id, request.include_deleted)
        return api_file_bot_pb2.GetBotResponse(bot=bot)

    @status(never_fails=True)
    def GetBots(
        self, request: api_file_bot_pb2.GetBotsRequest, context: Ctx
    ) -> api_file_bot_pb2.GetBotsResponse:
        """Bots by owner (deactivated, orphaned ones on request), by username, paged."""
        opts = request.options
        bots = sorted(
            (
                b
                for b in self.bots.values()
                if (not opts.owner_id or b.owner_id == opts.owner_id)
                and (opts.include_deleted or not b.delete_at)
                and (not opts.only_orphaned or b.owner_id not in self.users)
            ),
            key=lambda b: b.username,
        )
        return api_file_bot_pb2.GetBotsResponse(bots=paged(bots, opts.page, opts.per_page))

    @status
    def PatchBot(
        self, request: api_file_bot_pb2.PatchBotRequest, context: Ctx
    ) -> api_file_bot_pb2.PatchBotResponse:
        """Changes a bot's username, display name or description (and its user)."""
        bot = self._bot(request.bot_user_id)
        patch = request.bot_patch
        if patch.HasField("username"):
            username = patch.username.lower()
            validate_username(username, "model.bot.is_valid.username.app_error")
            other = self._find_user(username=username)
            if other is not None and other.id != bot.user_id:
                raise FakeAppError(
                    "app.user.save.username_exists.app_error",
                    f"an account with username {username!r} already exists",
                    409,
                )
            bot.username = username
        if patch.HasField("display_name"):
            bot.display_name = patch.display_name
        if patch.HasField("description"):
            bot.description = patch.description
        bot.update_at = self.now_ms()
        self._sync_bot_user(bot)
        return api_file_bot_pb2.PatchBotResponse(bot=bot)

    @status
    def UpdateBotActive(
        self, request: api_file_bot_pb2.UpdateBotActiveRequest, context: Ctx
    ) -> api_file_bot_pb2.UpdateBotActiveResponse:
        """Activates or deactivates a bot (and its user)."""
        bot = self._bot(request.bot_user_id, include_deleted=True)
        bot.update_at = self.now_ms()
        bot.delete_at = 0 if request.active else bot.update_at
        self._sync_bot_user(bot)
        return api_file_bot_pb2.UpdateBotActiveResponse(bot=bot)

    @status
    def PermanentDeleteBot(
        self, request: api_file_bot_pb2.PermanentDeleteBotRequest, context: Ctx
    ) -> api_file_bot_pb2.PermanentDeleteBotResponse:
        """Deletes a bot and its user for good."""
        self._bot(request.bot_user_id, include_deleted=True)
        del self.bots[request.bot_user_id]
        del self.users[request.bot_user_id]
        return api_file_bot_pb2.PermanentDeleteBotResponse()
