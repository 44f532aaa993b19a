"""Slash commands, the plugin's KV store and its settings on the local Mattermost (an
``in_channel`` answer goes through the post flow)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from typing import Any

from mattermost_plugin._generated.converters import api_remaining as c_remaining
from mattermost_plugin._pb.pluginapi.v1 import (
    api_channel_post_pb2,
    api_remaining_pb2,
    hooks_command_pb2,
    hooks_lifecycle_pb2,
    post_pb2,
)
from mattermost_plugin.host._config_patch import merge_config, sanitized_config
from mattermost_plugin.host._local_nodes import on_node
from mattermost_plugin.host._local_posts import LocalPosts
from mattermost_plugin.host._local_types import (
    ChannelRef,
    CommandError,
    HookCallError,
    PostRejectedError,
    TeamRef,
    UserRef,
    _id,
)
from mattermost_plugin.host.fake_server import (
    FakeAppError,
)
from mattermost_plugin.host.supervisor import hook_error_text
from mattermost_plugin.models import (
    CommandResponse,
)


class LocalCommands(LocalPosts):
    """Slash commands, the plugin's KV store and its settings on the local Mattermost."""

    def kv_get(self, key: str) -> bytes | None:
        """The plugin's KV value under ``key`` (``None`` when missing or expired)."""
        with self.server.transaction():
            entry = self.server._kv_live(key)
            return entry.value if entry is not None else None

    def kv_keys(self) -> list[str]:
        with self.server.transaction():
            return sorted(k for k in list(self.server.kv) if self.server._kv_live(k) is not None)

    def _write_plugin_config(self, settings: Mapping[str, Any]) -> None:
        fake = self.server
        with fake.transaction():
            plugin_settings = fake._plugin_settings()
            plugin_settings.clear()
            plugin_settings.update(json.loads(json.dumps(dict(settings))))
        self._apply_schema_defaults()

    def _config_saved(self) -> None:
        """The plugin saved the config through the API: the server then calls
        ``OnConfigurationChange`` on every node (in the background: the saving call is
        still running)."""
        for node in self.nodes:
            if node.running:
                self._fire(
                    "OnConfigurationChange",
                    hooks_lifecycle_pb2.OnConfigurationChangeRequest(),
                    wait=False,
                    node=node,
                )

    def _apply_schema_defaults(self) -> None:
        """As the server does: a setting of the manifest's ``settings_schema`` that the
        config does not have takes the schema's ``default``."""
        schema = self.manifest.settings_schema or {}
        groups = [schema.get("settings") or []]
        groups += [section.get("settings") or [] for section in schema.get("sections") or []]
        defaults = {
            item["key"]: item["default"]
            for group in groups
            for item in group
            if isinstance(item, dict) and isinstance(item.get("key"), str) and "default" in item
        }
        if not defaults:
            return
        fake = self.server
        with fake.transaction():
            plugin_settings = fake._plugin_settings()
            present = {str(key).lower() for key in plugin_settings}
            for key, value in defaults.items():
                if key.lower() not in present:
                    plugin_settings[key] = value

    def set_plugin_config(self, settings: Mapping[str, Any]) -> None:
        """Replace the plugin's settings and call ``OnConfigurationChange`` (as saving the
        System Console does); raises :class:`HookCallError` or :class:`CommandError`-style
        failures as :class:`RuntimeError` when the plugin refuses the configuration."""
        self._write_plugin_config(settings)
        self._configuration_changed()

    def _configuration_changed(self) -> None:
        """``OnConfigurationChange`` on every running node, waited for: an error answer
        raises :class:`RuntimeError` with the plugin's traceback, a crash
        :class:`HookCallError` (after every node had its call)."""
        if not self.implements("OnConfigurationChange"):
            return
        nodes = [node for node in self.nodes if node.running] or self.nodes[:1]
        failures: list[Exception] = []
        for node in nodes:
            with on_node(node):
                try:
                    self._configuration_changed_here()
                except (RuntimeError, HookCallError) as exc:
                    failures.append(exc)
        if failures:
            raise failures[0]

    def _configuration_changed_here(self) -> None:
        hook = "OnConfigurationChange"
        started, mark = time.monotonic(), self.logs.total
        try:
            answer = self.call_hook(hook, hooks_lifecycle_pb2.OnConfigurationChangeRequest())
        except HookCallError as exc:
            self._hook_event(hook, f"failed: {exc.detail}", started, "error")
            raise
        if answer.HasField("error"):
            failure = f"failed: {hook_error_text(answer.error)}"
            self._hook_event(hook, failure, started, "error")
            trace = self._failure_stacktrace(mark, hook=hook, timeout=1.0)
            shown = f"\n{self.readable_traceback(trace)}" if trace is not None else ""
            raise RuntimeError(f"{hook} {failure}{shown}")
        self._hook_event(hook, "done", started)

    def get_config(self) -> dict[str, Any]:
        """The whole configuration as the server's API shows it (``GET /api/v4/config``):
        secrets, and the plugin's settings marked ``secret``, hidden."""
        with self.server.transaction():
            return sanitized_config(
                self.server.config, self.plugin_id, self.manifest.secret_settings
            )

    def patch_config(self, patch: Mapping[str, Any]) -> dict[str, Any]:
        """What the server's ``PUT /api/v4/config/patch`` does: merge ``patch``, a partial
        configuration (``{"PluginSettings": {"Plugins": {<id>: {"max_links": 5}}}}``), over
        the configuration (a patch that does not fit its shape raises :class:`FakeAppError`,
        400); let the plugin's ``ConfigurationWillBeSaved`` refuse it (400 too) or change it;
        save it; then call ``OnConfigurationChange`` and wait for it (a failure there is
        reported and the configuration stays saved, as on the server). Returns
        :meth:`get_config`."""
        fake = self.server
        with fake.transaction():
            try:
                merged = merge_config(fake.config, patch)
            except ValueError as exc:
                raise FakeAppError(
                    "api.context.invalid_body_param.app_error", str(exc), 400
                ) from None
        merged = self._config_will_be_saved(merged)
        with fake.transaction():
            fake.config = merged
        with contextlib.suppress(RuntimeError, HookCallError):
            self._configuration_changed()  # a failure is reported; the server only logs it
        return self.get_config()

    def _config_will_be_saved(self, config: dict[str, Any]) -> dict[str, Any]:
        """``ConfigurationWillBeSaved``: the config to save (the plugin's replacement, if it
        made one); raises :class:`FakeAppError` when the plugin refuses it."""
        hook = "ConfigurationWillBeSaved"
        with self.serving():
            if not self.implements(hook):
                return config
            return self._config_will_be_saved_here(config)

    def _config_will_be_saved_here(self, config: dict[str, Any]) -> dict[str, Any]:
        hook = "ConfigurationWillBeSaved"
        started = time.monotonic()
        request = hooks_lifecycle_pb2.ConfigurationWillBeSavedRequest(
            new_config=hooks_lifecycle_pb2.ConfigJson(config_json=json.dumps(config).encode())
        )
        try:
            answer = self.call_hook(hook, request)
        except HookCallError as exc:
            self._hook_event(hook, f"failed: {exc.detail}; saving unchanged", started, "error")
            return config
        if answer.HasField("error"):
            reason = hook_error_text(answer.error)
            self._hook_event(hook, f"refused: {reason}", started, "warn")
            raise FakeAppError("app.save_config.plugin_hook_error", reason, 400)
        if not answer.HasField("modified_config"):
            self._hook_event(hook, "allowed", started)
            return config
        try:
            replaced = json.loads(answer.modified_config.config_json)
        except ValueError:
            replaced = None
        if not isinstance(replaced, dict):
            self._hook_event(hook, "answered a config that is no JSON object", started, "error")
            return config
        self._hook_event(hook, "modified", started)
        return replaced

    def execute_command(
        self,
        command: str,
        *,
        channel: ChannelRef | None = None,
        user: UserRef | None = None,
        root_id: str = "",
        team: TeamRef | None = None,
    ) -> CommandResponse:
        """Run a slash command (``"/hello world"``) as ``user`` in ``channel`` (defaults: the
        default user, ``town-square``). Returns the plugin's ``CommandResponse``; raises
        :class:`CommandError` (404 when no command has that trigger, 500 when the plugin
        failed)."""
        fake = self.server
        channel_id = self._default(channel, self._channel, "channel")
        with fake.transaction():
            channel_team = fake._channel(channel_id).team_id
        team_id = (
            _id(team) if team is not None else channel_team or (self._team.id if self._team else "")
        )
        args = api_remaining_pb2.CommandArgs(
            user_id=self._default(user, self._user, "user"),
            channel_id=channel_id,
            team_id=team_id,
            root_id=root_id,
            parent_id=root_id,
            command=command,
        )
        try:
            response = self._run_command(args)
        except FakeAppError as exc:
            raise CommandError(exc.error_id, exc.message, exc.status_code) from None
        return c_remaining.command_response_from_pb(response)

    def _execute_from_api(
        self, args: api_remaining_pb2.CommandArgs
    ) -> api_remaining_pb2.CommandResponse:
        """``ExecuteSlashCommand`` from the plugin: the same flow."""
        return self._run_command(args)

    def _run_command(
        self, args: api_remaining_pb2.CommandArgs
    ) -> api_remaining_pb2.CommandResponse:
        with self.serving():  # the command and the post of its answer: one node
            return self._run_command_here(args)

    def _run_command_here(
        self, args: api_remaining_pb2.CommandArgs
    ) -> api_remaining_pb2.CommandResponse:
        fake = self.server
        text = args.command.strip()
        if not text.startswith("/"):
            raise FakeAppError(
                "api.command.execute_command.start.app_error",
                "a command must start with /",
                400,
            )
        trigger = text.split()[0][1:]
        registered = fake.find_command(args.team_id, trigger)
        if registered is None:
            self._emit("command", f"/{trigger}: no such command", level="warn")
            raise FakeAppError(
                "api.command.execute_command.not_found.app_error",
                f"Command with a trigger of '/{trigger}' not found.",
                404,
            )
        filled = api_remaining_pb2.CommandArgs()
        filled.CopyFrom(args)
        filled.command = text
        filled.site_url = filled.site_url or self.site_url_value
        if not filled.trigger_id:  # one the plugin can open a dialog with
            with fake.transaction():
                filled.trigger_id = fake.issue_trigger_id(filled.user_id)
        started = time.monotonic()
        try:
            answer = self.call_hook(
                "ExecuteCommand",
                hooks_command_pb2.ExecuteCommandRequest(
                    plugin_context=self._context(), args=filled
                ),
            )
        except HookCallError as exc:
            self._hook_event("ExecuteCommand", f"failed: {exc.detail}", started, "error")
            raise FakeAppError(
                "api.command.execute_command.failed.app_error",
                f"Command with a trigger of '/{trigger}' failed: {exc.detail}",
                500,
            ) from None
        if answer.HasField("error"):
            # What the server keeps of the error: where, id, detailed_error, status_code.
            error = answer.error
            self._hook_event("ExecuteCommand", f"error: {hook_error_text(error)}", started, "warn")
            error_id = error.id or "api.command.execute_command.failed.app_error"
            raise FakeAppError(error_id, error_id, error.status_code or 500, error.detailed_error)
        if not answer.HasField("response"):
            # The server takes a command answered with neither as not handled.
            self._hook_event("ExecuteCommand", f"/{trigger} answered nothing", started, "warn")
            raise FakeAppError(
                "api.command.execute_command.not_found.app_error",
                f"Command with a trigger of '/{trigger}' not found.",
                404,
            )
        response: api_remaining_pb2.CommandResponse = answer.response
        self._hook_event(
            "ExecuteCommand",
            f"/{trigger} answered {response.response_type or 'ephemeral'}: {response.text!r}",
            started,
        )
        self._post_command_response(filled, response)
        return response

    def _post_command_response(
        self, args: api_remaining_pb2.CommandArgs, response: api_remaining_pb2.CommandResponse
    ) -> None:
        """What the server does with the answer: an ``in_channel`` text becomes a post in the
        channel (through the message hooks), any other a post only the user sees."""
        if not response.text and not response.attachments:
            return
        channel_id = response.channel_id or args.channel_id
        if response.response_type == "in_channel":
            try:
                self.create_post(
                    channel_id, response.text, user=args.user_id, root_id=args.root_id, wait=False
                )
            except (PostRejectedError, FakeAppError) as exc:
                self._emit("command", f"the command's answer was not posted: {exc}", level="warn")
            return
        ephemeral = post_pb2.Post(
            channel_id=channel_id, user_id=args.user_id, root_id=args.root_id, message=response.text
        )
        self._invoke(
            "SendEphemeralPost",
            api_channel_post_pb2.SendEphemeralPostRequest(user_id=args.user_id, post=ephemeral),
        )
