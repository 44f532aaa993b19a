"""Custom slash commands (the kind an admin makes, calling out to a URL) and the server's
built-in ones; the plugin's own commands are in :mod:`._commands`."""

from __future__ import annotations

import re

from mattermost_plugin._pb.pluginapi.v1 import api_remaining_pb2
from mattermost_plugin.host.fake_server._commands import CommandsAPI
from mattermost_plugin.host.fake_server._rpc import Ctx, bad_request, not_found, status
from mattermost_plugin.host.fake_server._state import new_id

BUILT_IN_TRIGGERS = (
    "away",
    "code",
    "collapse",
    "dnd",
    "echo",
    "expand",
    "header",
    "help",
    "invite",
    "join",
    "kick",
    "leave",
    "logout",
    "me",
    "msg",
    "mute",
    "offline",
    "online",
    "purpose",
    "remove",
    "rename",
    "search",
    "settings",
    "shortcuts",
    "shrug",
    "status",
)
"""The server's own commands (a subset: those every server has)."""


def _built_in() -> list[api_remaining_pb2.Command]:
    return [api_remaining_pb2.Command(trigger=t, auto_complete=True) for t in BUILT_IN_TRIGGERS]


_URL_RE = re.compile(r"^https?://[^\s/]+")


class CustomCommandsAPI(CommandsAPI):
    def _custom(self, command_id: str) -> api_remaining_pb2.Command:
        command = self.custom_commands.get(command_id)
        if command is None or command.delete_at:
            raise not_found("app.command.getcommand.app_error", "command", command_id)
        return command

    def _check_command(self, command: api_remaining_pb2.Command, *, exclude_id: str = "") -> None:
        """Raise the server's 400 for an invalid command or a trigger taken in the team."""
        self._team(command.team_id)
        command.trigger = command.trigger.strip().lower()
        if (
            not 1 <= len(command.trigger) <= 128
            or command.trigger.startswith("/")
            or " " in command.trigger
        ):
            raise bad_request("model.command.is_valid.trigger.app_error", "invalid trigger")
        if not _URL_RE.match(command.url):
            raise bad_request("model.command.is_valid.url.app_error", "the URL must be http(s)")
        command.method = command.method or "P"
        if command.method not in ("P", "G"):
            raise bad_request("model.command.is_valid.method.app_error", "the method is P or G")
        taken = command.trigger in BUILT_IN_TRIGGERS or any(
            c.trigger == command.trigger and c.team_id == command.team_id and not c.delete_at
            for c in self.custom_commands.values()
            if c.id != exclude_id
        )
        if taken:
            raise bad_request(
                "api.command.duplicate_trigger.app_error",
                f"the trigger {command.trigger!r} is in use",
            )

    @status
    def CreateCommand(
        self, request: api_remaining_pb2.CreateCommandRequest, context: Ctx
    ) -> api_remaining_pb2.CreateCommandResponse:
        """Creates a custom command of a team (a free trigger, an http(s) URL, method P or
        G) with a new id and token."""
        command = api_remaining_pb2.Command()
        command.CopyFrom(request.cmd)
        self._check_command(command)
        command.id, command.token = new_id(), new_id()
        command.create_at = command.update_at = self.now_ms()
        self.custom_commands[command.id] = command
        return api_remaining_pb2.CreateCommandResponse(command=command)

    @status
    def GetCommand(
        self, request: api_remaining_pb2.GetCommandRequest, context: Ctx
    ) -> api_remaining_pb2.GetCommandResponse:
        """A custom command by id."""
        return api_remaining_pb2.GetCommandResponse(command=self._custom(request.command_id))

    @status
    def UpdateCommand(
        self, request: api_remaining_pb2.UpdateCommandRequest, context: Ctx
    ) -> api_remaining_pb2.UpdateCommandResponse:
        """Changes a custom command (its id, token, team and creator stay)."""
        current = self._custom(request.command_id)
        command = api_remaining_pb2.Command()
        command.CopyFrom(request.updated_cmd)
        for name in ("id", "token", "team_id", "creator_id", "create_at"):
            setattr(command, name, getattr(current, name))
        self._check_command(command, exclude_id=current.id)
        command.update_at = self.now_ms()
        self.custom_commands[current.id] = command
        return api_remaining_pb2.UpdateCommandResponse(command=command)

    @status
    def DeleteCommand(
        self, request: api_remaining_pb2.DeleteCommandRequest, context: Ctx
    ) -> api_remaining_pb2.DeleteCommandResponse:
        """Deletes a custom command (kept, marked deleted)."""
        command = self._custom(request.command_id)
        command.delete_at = command.update_at = self.now_ms()
        return api_remaining_pb2.DeleteCommandResponse()

    def _customs(self, team_id: str) -> list[api_remaining_pb2.Command]:
        return sorted(
            (c for c in self.custom_commands.values() if c.team_id == team_id and not c.delete_at),
            key=lambda c: c.trigger,
        )

    @status(never_fails=True)
    def ListCustomCommands(
        self, request: api_remaining_pb2.ListCustomCommandsRequest, context: Ctx
    ) -> api_remaining_pb2.ListCustomCommandsResponse:
        """The team's custom commands, by trigger."""
        return api_remaining_pb2.ListCustomCommandsResponse(commands=self._customs(request.team_id))

    @status(never_fails=True)
    def ListBuiltInCommands(
        self, request: api_remaining_pb2.ListBuiltInCommandsRequest, context: Ctx
    ) -> api_remaining_pb2.ListBuiltInCommandsResponse:
        """The server's own commands (``/away``, ``/join``, ...)."""
        commands = [
            api_remaining_pb2.Command(trigger=t, auto_complete=True) for t in BUILT_IN_TRIGGERS
        ]
        return api_remaining_pb2.ListBuiltInCommandsResponse(commands=commands)

    @status(never_fails=True)
    def ListCommands(
        self, request: api_remaining_pb2.ListCommandsRequest, context: Ctx
    ) -> api_remaining_pb2.ListCommandsResponse:
        """Every command of a team: built-in, plugin (for the team or every team) and
        custom, each group by trigger."""
        built_in = [
            api_remaining_pb2.Command(trigger=t, auto_complete=True) for t in BUILT_IN_TRIGGERS
        ]
        commands = [
            *built_in,
            *self._plugin_commands(request.team_id),
            *self._customs(request.team_id),
        ]
        return api_remaining_pb2.ListCommandsResponse(commands=commands)
