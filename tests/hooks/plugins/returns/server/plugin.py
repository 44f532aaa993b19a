"""Handlers that return every form the SDK adapts (tests/hooks/test_return_adaptation.py).

A "mode" in the request picks what a handler returns: the post's message, the file's name,
the username, the command, a key of a JSON payload... Hooks without a payload (OnActivate,
OnDeactivate, OnConfigurationChange) read it from the plugin's settings, over the API.
"""

from __future__ import annotations

from typing import Any

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import (
    CommandArgs,
    CommandResponse,
    EmailNotificationContent,
    FileData,
    FileInfo,
    OnInstallEvent,
    PluginContext,
    Post,
    PushNotification,
    RemoteCluster,
    SyncResponse,
    User,
)

DISMISS = "plugin.message_will_be_posted.dismiss_post"


def error_result(mode: str) -> object:
    """What an error hook returns in each mode."""
    if mode == "raise":
        raise RuntimeError(f"{mode}: the handler raised")
    if mode == "exception":
        return ValueError(f"{mode}: the handler returned an exception")
    if mode == "str":
        return "the handler returned a message"
    if mode == "empty":
        return ""
    return None


class ReturnsPlugin(Plugin):
    def settings_mode(self) -> str:
        return str(self.api.get_plugin_config().get("mode", "ok"))

    # -- error hooks ----------------------------------------------------------------------
    @hook(HookName.OnActivate)
    def on_activate(self) -> object:
        return error_result(self.settings_mode())

    @hook(HookName.OnDeactivate)
    def on_deactivate(self) -> object:
        return error_result(self.settings_mode())

    @hook(HookName.OnConfigurationChange)
    def on_configuration_change(self) -> object:
        return error_result(self.settings_mode())

    @hook(HookName.OnInstall)
    def on_install(self, context: PluginContext, event: OnInstallEvent) -> object:
        return error_result(event.user_id)

    @hook(HookName.OnSAMLLogin)
    def on_saml_login(
        self, context: PluginContext, user: User, assertion: dict[str, Any]
    ) -> object:
        return error_result(assertion["mode"])

    @hook(HookName.OnSharedChannelsAttachmentSyncMsg)
    def on_attachment_sync(self, file_info: FileInfo, post: Post, remote: RemoteCluster) -> object:
        return error_result(post.message)

    # -- "will be" hooks ------------------------------------------------------------------
    @hook(HookName.MessageWillBePosted)
    def message_will_be_posted(self, context: PluginContext, post: Post) -> object:
        mode = post.message
        changed = post.model_copy(update={"message": f"{mode} (changed)"})
        results: dict[str, object] = {
            "tuple-same": (post, ""),
            "tuple-changed": (changed, ""),
            "value-same": post,
            "value-changed": changed,
            "dict": {"channel_id": post.channel_id, "message": "built from a dict"},
            "none": None,
            "none-none": (None, None),
            "reject": (None, "posts like this are not allowed"),
            "reason-only": "a bare reason",
            "changed-and-reason": (changed, "rejected even though changed"),
            "dismiss": (None, DISMISS),
        }
        if mode == "in-place":
            post.message = "changed in place"
            post.props["checked"] = True
            return post, ""
        return results[mode]

    @hook(HookName.MessageWillBeUpdated)
    def message_will_be_updated(
        self, context: PluginContext, new_post: Post, old_post: Post
    ) -> object:
        if new_post.message == "revert":
            return old_post, ""
        if new_post.message == "reject":
            return None, "edits are frozen"
        return new_post, ""

    @hook(HookName.FileWillBeUploaded)
    def file_will_be_uploaded(
        self, context: PluginContext, file_info: FileInfo, file_content: bytes
    ) -> object:
        renamed = file_info.model_copy(update={"name": "renamed-" + file_info.name})
        results: dict[str, object] = {
            "same.txt": (file_info, file_content, ""),
            "rename.txt": (renamed, file_content, ""),
            "content.txt": (file_info, file_content.upper(), ""),
            "content-only.txt": (None, b"replaced", ""),
            "both.txt": (renamed, b"replaced", ""),
            "pair.txt": (renamed, ""),
            "pair-reject.txt": (None, "no files today"),
            "reject.txt": (None, None, "file type not allowed"),
            "none.txt": None,
            "info-only.txt": renamed,
        }
        return results[file_info.name]

    @hook(HookName.NotificationWillBePushed)
    def notification_will_be_pushed(self, notification: PushNotification, user_id: str) -> object:
        if notification.message == "reject":
            return None, f"{user_id} muted pushes"
        if notification.message == "change":
            return notification.model_copy(update={"message": "changed"}), ""
        return notification

    @hook(HookName.EmailNotificationWillBeSent)
    def email_notification_will_be_sent(self, email: dict[str, Any]) -> object:
        mode = email["mode"]
        if mode == "content":
            return EmailNotificationContent(subject="new subject", message_text="new text"), ""
        if mode == "dict":
            return {"subject": "from a dict"}
        if mode == "reject":
            return None, "no emails on weekends"
        return None

    # -- value hooks ----------------------------------------------------------------------
    @hook(HookName.UserWillLogIn)
    def user_will_log_in(self, context: PluginContext, user: User) -> str | None:
        if user.username == "refused":
            return "Login refused by policy"
        if user.username == "none":
            return None
        return ""

    @hook(HookName.ExecuteCommand)
    def execute_command(self, context: PluginContext, args: CommandArgs) -> object:
        mode = args.command.removeprefix("/").split()[0]
        results: dict[str, object] = {
            "dict": {"response_type": "in_channel", "text": "from a dict", "props": {"n": 1}},
            "model": CommandResponse(response_type="ephemeral", text="from a model"),
            "exception": PermissionError("only admins may do that"),
            "str": "unknown subcommand",
            "none": None,
        }
        return results[mode]

    @hook(HookName.RunDataRetention)
    def run_data_retention(self, now_time: int, batch_size: int) -> object:
        if batch_size == 13:
            return RuntimeError("retention failed")
        if batch_size == 0:
            return None
        return batch_size - 1

    @hook(HookName.ConfigurationWillBeSaved)
    def configuration_will_be_saved(self, config: dict[str, Any]) -> object:
        mode = config["mode"]
        if mode == "same":
            return config
        if mode == "copy":
            return dict(config)
        if mode == "change":
            return {**config, "Added": True}
        if mode == "in-place":
            config["Added"] = True
            return config
        if mode == "error":
            return "this configuration is not allowed"
        return None

    @hook(HookName.MessagesWillBeConsumed)
    def messages_will_be_consumed(self, posts: list[Post]) -> object:
        mode = posts[0].message if posts else ""
        if mode == "none":
            return None
        if mode == "all-gone":
            return []
        if mode == "same":
            return posts
        if mode == "drop-first":
            return posts[1:]
        return [p.model_copy(update={"message": "seen: " + p.message}) for p in posts[1:]]

    @hook(HookName.OnSharedChannelsPing)
    def on_shared_channels_ping(self, remote: RemoteCluster) -> bool | None:
        return {"yes": True, "no": False}.get(remote.name)

    @hook(HookName.OnSharedChannelsSyncMsg)
    def on_shared_channels_sync_msg(self, msg: dict[str, Any], remote: RemoteCluster) -> object:
        if msg.get("mode") == "fail":
            return ConnectionError("remote is gone")
        return SyncResponse(users_syncd=["u1"])

    @hook(HookName.GenerateSupportData)
    def generate_support_data(self, context: PluginContext) -> object:
        mode = context.request_id
        if mode == "models":
            return [FileData(filename="a.txt", data=b"A"), FileData(filename="b.txt", data=b"B")]
        if mode == "dicts":
            return [{"filename": "c.txt", "data": b"C"}]
        if mode == "exception":
            return OSError("disk is full")
        return None


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(ReturnsPlugin)
