"""Slash commands."""

from __future__ import annotations

from mattermost_plugin._pb.pluginapi.v1 import (
    api_remaining_pb2,
)
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    FakeAppError,
    bad_request,
    status,
)
from mattermost_plugin.host.fake_server._state import (
    FakeState,
)


class CommandsAPI(FakeState):
    # ------------------------------------------------------------------- commands (status)

    @status
    def RegisterCommand(
        self, request: api_remaining_pb2.RegisterCommandRequest, context: Ctx
    ) -> api_remaining_pb2.RegisterCommandResponse:
        """Registers a slash command the plugin handles (``ExecuteCommand``), for a team or every
        team."""
        trigger = request.command.trigger.strip().lstrip("/").lower()  # as the server does
        if not trigger or " " in trigger:
            raise bad_request("model.command.is_valid.trigger.app_error", "invalid trigger")
        command = api_remaining_pb2.Command()
        command.CopyFrom(request.command)
        command.trigger = trigger
        command.plugin_id = self.plugin_id  # the server records who handles it
        command.create_at = command.update_at = self.now_ms()
        self.commands[(command.team_id, trigger)] = command
        return api_remaining_pb2.RegisterCommandResponse()

    @status(never_fails=True)
    def UnregisterCommand(
        self, request: api_remaining_pb2.UnregisterCommandRequest, context: Ctx
    ) -> api_remaining_pb2.UnregisterCommandResponse:
        """Removes a command of the plugin (a missing one too)."""
        self.commands.pop((request.team_id, request.trigger.lstrip("/").lower()), None)
        return api_remaining_pb2.UnregisterCommandResponse()

    def find_command(self, team_id: str, trigger: str) -> api_remaining_pb2.Command | None:
        """The plugin command ``trigger`` (without the slash) as seen in ``team_id``: one
        registered for that team, else one registered for every team (empty team id)."""
        with self._lock:
            trigger = trigger.lstrip("/").lower()
            for key in ((team_id, trigger), ("", trigger)):
                if key in self.commands:
                    return self.commands[key]
            return None

    def _plugin_commands(self, team_id: str) -> list[api_remaining_pb2.Command]:
        return sorted(
            (c for (team, _), c in self.commands.items() if team in ("", team_id)),
            key=lambda c: c.trigger,
        )

    @status(never_fails=True)
    def ListPluginCommands(
        self, request: api_remaining_pb2.ListPluginCommandsRequest, context: Ctx
    ) -> api_remaining_pb2.ListPluginCommandsResponse:
        """The plugin's commands for a team and for every team, by trigger."""
        commands = self._plugin_commands(request.team_id)
        return api_remaining_pb2.ListPluginCommandsResponse(commands=commands)

    @status(hooks=("ExecuteCommand",), locked=False)
    def ExecuteSlashCommand(
        self, request: api_remaining_pb2.ExecuteSlashCommandRequest, context: Ctx
    ) -> api_remaining_pb2.ExecuteSlashCommandResponse:
        """Runs the plugin's command through the host's command flow (not under the lock:
        the plugin's ExecuteCommand may call this API again)."""
        if self.execute_command is None:
            raise FakeAppError(
                "api.command.execute_command.not_found.app_error",
                f"command {request.command_args.command!r} not found: no plugin host "
                "is attached to this fake server",
                404,
            )
        response = self.execute_command(request.command_args)
        return api_remaining_pb2.ExecuteSlashCommandResponse(response=response)
