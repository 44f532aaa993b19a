"""Bots, configuration, logs, preferences and slash commands of the fake, through the SDK's
client over real gRPC."""

from __future__ import annotations

import pytest
from tests.support.coverage import fails, ok

from mattermost_plugin import (
    AlreadyExistsError,
    NotFoundError,
    PermissionDeniedError,
    PluginAPIClient,
    ValidationError,
)
from mattermost_plugin._pb.pluginapi.v1 import api_remaining_pb2
from mattermost_plugin.host.fake_server import FakeMattermost
from mattermost_plugin.models import (
    Bot,
    BotGetOptions,
    BotPatch,
    Command,
    CommandArgs,
    Preference,
    Team,
    User,
)

BOTS = ("CreateBot", "EnsureBotUser", "GetBot", "GetBots", "PatchBot", "UpdateBotActive")


@ok(*BOTS, "PermanentDeleteBot")
def test_bots(api: PluginAPIClient, fake: FakeMattermost) -> None:
    bot = api.create_bot(Bot(username="helper", display_name="Helper"))
    assert bot.owner_id == fake.plugin_id and api.get_user(bot.user_id).is_bot
    assert api.ensure_bot_user(Bot(username="helper")) == bot.user_id
    assert api.get_bot(bot.user_id).username == "helper"
    patched = api.patch_bot(bot.user_id, BotPatch(description="Helps"))
    assert (patched.description, patched.display_name) == ("Helps", "Helper")
    api.update_bot_active(bot.user_id, False)
    assert api.get_bots() == []
    assert [
        b.user_id for b in api.get_bots(options=BotGetOptions(include_deleted=True, per_page=10))
    ] == [bot.user_id]
    api.permanent_delete_bot(bot.user_id)
    with pytest.raises(NotFoundError):
        api.get_user(bot.user_id)


@fails(*BOTS, "PermanentDeleteBot")
def test_bot_errors(api: PluginAPIClient) -> None:
    api.create_bot(Bot(username="helper"))
    with pytest.raises(AlreadyExistsError):
        api.create_bot(Bot(username="helper"))
    with pytest.raises(ValidationError):
        api.ensure_bot_user(Bot(username="not valid"))
    with pytest.raises(NotFoundError):
        api.get_bot("x" * 26)
    assert api.get_bots(options=BotGetOptions(owner_id="someone")) == []
    with pytest.raises(NotFoundError):
        api.patch_bot("x" * 26, BotPatch(description="x"))
    with pytest.raises(NotFoundError):
        api.update_bot_active("x" * 26, True)
    with pytest.raises(NotFoundError):
        api.permanent_delete_bot("x" * 26)


CONFIG = (
    "GetConfig",
    "GetUnsanitizedConfig",
    "SaveConfig",
    "GetPluginConfig",
    "SavePluginConfig",
    "LoadPluginConfiguration",
    "GetServerVersion",
)


@ok(*CONFIG)
def test_config(api: PluginAPIClient, fake: FakeMattermost) -> None:
    saved: list[bool] = []
    fake.on_config_saved = lambda: saved.append(True)
    api.save_plugin_config({"Greeting": "hi"})
    assert api.get_plugin_config() == {"Greeting": "hi"}
    assert api.load_plugin_configuration() == {"Greeting": "hi"}
    config = api.get_config()
    assert isinstance(config, dict)
    config["TeamSettings"]["SiteName"] = "Local"
    api.save_config(config)
    assert api.get_unsanitized_config()["TeamSettings"]["SiteName"] == "Local"  # type: ignore[index, call-overload]
    assert saved == [True, True]  # the host then runs OnConfigurationChange
    assert api.get_server_version() == "10.5.0"


@fails(*CONFIG)
def test_config_errors(api: PluginAPIClient, fake: FakeMattermost) -> None:
    with pytest.raises(ValidationError):
        api.save_config([1, 2])  # not an object
    api.save_plugin_config({})
    assert api.get_plugin_config() == {} and api.load_plugin_configuration() == {}
    assert "PluginSettings" in api.get_config()  # type: ignore[operator]
    assert api.get_unsanitized_config() == api.get_config()
    fake.server_version = "9.11.2"
    assert api.get_server_version() == "9.11.2"


LOGS = ("LogDebug", "LogInfo", "LogWarn", "LogError")


@ok(*LOGS)
def test_logs(api: PluginAPIClient, fake: FakeMattermost) -> None:
    api.log_debug("d")
    api.log_info("started", count=3)
    api.log_warn("w")
    api.log_error("e")
    assert [(e.level, e.message, e.fields) for e in fake.logs] == [
        ("debug", "d", {}),
        ("info", "started", {"count": 3}),
        ("warn", "w", {}),
        ("error", "e", {}),
    ]


@fails(*LOGS)
def test_logs_never_fail(api: PluginAPIClient, fake: FakeMattermost) -> None:
    for log in (api.log_debug, api.log_info, api.log_warn, api.log_error):
        log("x" * 100_000)  # cut, never refused
    assert all(len(e.message.encode()) < 100_000 for e in fake.logs)


PREFERENCES = (
    "GetPreferenceForUser",
    "GetPreferencesForUser",
    "UpdatePreferencesForUser",
    "DeletePreferencesForUser",
)


@ok(*PREFERENCES)
def test_preferences(api: PluginAPIClient, alice: User) -> None:
    theme = Preference(user_id=alice.id, category="theme", name="", value="dark")
    api.update_preferences_for_user(alice.id, [theme])
    assert api.get_preference_for_user(alice.id, "theme", "").value == "dark"
    assert [p.category for p in api.get_preferences_for_user(alice.id)] == ["theme"]
    api.delete_preferences_for_user(alice.id, [theme])
    assert api.get_preferences_for_user(alice.id) == []


@fails(*PREFERENCES)
def test_preference_errors(api: PluginAPIClient, alice: User, bob: User) -> None:
    with pytest.raises(NotFoundError):
        api.get_preference_for_user(alice.id, "theme", "")
    assert api.get_preferences_for_user("x" * 26) == []
    bobs = Preference(user_id=bob.id, category="theme", name="", value="dark")
    with pytest.raises(PermissionDeniedError):
        api.update_preferences_for_user(alice.id, [bobs])
    with pytest.raises(PermissionDeniedError):
        api.delete_preferences_for_user(alice.id, [bobs])


PLUGIN_COMMANDS = (
    "RegisterCommand",
    "UnregisterCommand",
    "ListPluginCommands",
    "ListCommands",
    "ExecuteSlashCommand",
)


@ok(*PLUGIN_COMMANDS)
def test_plugin_commands(api: PluginAPIClient, fake: FakeMattermost, team: Team) -> None:
    api.register_command(Command(trigger="/Hello", auto_complete=True))
    api.register_command(Command(trigger="only-here", team_id=team.id))
    assert [c.trigger for c in api.list_plugin_commands(team.id)] == ["hello", "only-here"]
    assert [c.trigger for c in api.list_plugin_commands("x" * 26)] == ["hello"]
    triggers = [c.trigger for c in api.list_commands(team.id)]
    assert "hello" in triggers and "away" in triggers  # with the built-in ones
    fake.execute_command = lambda args: api_remaining_pb2.CommandResponse(text=args.command)
    answer = api.execute_slash_command(CommandArgs(command="/hello there", team_id=team.id))
    assert answer.text == "/hello there"
    api.unregister_command(team.id, "only-here")
    assert [c.trigger for c in api.list_plugin_commands(team.id)] == ["hello"]


@fails(*PLUGIN_COMMANDS)
def test_plugin_command_errors(api: PluginAPIClient) -> None:
    with pytest.raises(ValidationError):
        api.register_command(Command(trigger="two words"))
    api.unregister_command("", "never-registered")  # no error
    assert api.list_plugin_commands("x" * 26) == []
    assert [c.trigger for c in api.list_commands("x" * 26)][:2] == ["away", "code"]
    with pytest.raises(NotFoundError):  # no host runs commands for a bare fake
        api.execute_slash_command(CommandArgs(command="/hello"))


CUSTOM_COMMANDS = (
    "CreateCommand",
    "GetCommand",
    "UpdateCommand",
    "DeleteCommand",
    "ListCustomCommands",
    "ListBuiltInCommands",
)


@ok(*CUSTOM_COMMANDS)
def test_custom_commands(api: PluginAPIClient, team: Team, alice: User) -> None:
    command = api.create_command(
        Command(
            team_id=team.id, trigger="deploy", url="https://ci.example.com", creator_id=alice.id
        )
    )
    assert len(command.id) == 26 and len(command.token) == 26 and command.method == "P"
    assert api.get_command(command.id) == command
    command.description = "Deploys"
    command.token = "changed"  # stays
    updated = api.update_command(command.id, command)
    assert updated.description == "Deploys" and updated.token != "changed"
    assert [c.trigger for c in api.list_custom_commands(team.id)] == ["deploy"]
    assert "join" in [c.trigger for c in api.list_built_in_commands()]
    api.delete_command(command.id)
    assert api.list_custom_commands(team.id) == []


@fails(*CUSTOM_COMMANDS)
def test_custom_command_errors(api: PluginAPIClient, team: Team) -> None:
    with pytest.raises(ValidationError):  # a built-in trigger
        api.create_command(Command(team_id=team.id, trigger="join", url="https://x.example"))
    with pytest.raises(ValidationError):
        api.create_command(Command(team_id=team.id, trigger="ok", url="ftp://x.example"))
    with pytest.raises(NotFoundError):
        api.get_command("x" * 26)
    with pytest.raises(NotFoundError):
        api.update_command("x" * 26, Command(trigger="x", url="https://x.example"))
    with pytest.raises(NotFoundError):
        api.delete_command("x" * 26)
    assert api.list_custom_commands("x" * 26) == []
    assert len(api.list_built_in_commands()) > 10  # the server's own, always there
