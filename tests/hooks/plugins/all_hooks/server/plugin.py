"""A plugin with a handler for every hook but ServeHTTP (tests/hooks/test_every_hook.py).

Each handler logs "<Hook> called" with ``extra={"hook": ..., "arguments": [...]}``, a digest
of the positional arguments it got (type name and content), and returns something that
exercises its hook's response kind.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import (
    Channel,
    ChannelMember,
    CommandArgs,
    CommandResponse,
    EmailNotificationContent,
    FileData,
    FileInfo,
    OnInstallEvent,
    PluginClusterEvent,
    PluginContext,
    Post,
    Preference,
    ProductLimits,
    PushNotification,
    Reaction,
    RemoteCluster,
    SyncResponse,
    TeamMember,
    User,
    WebSocketRequest,
)


def describe(value: object) -> dict[str, Any]:
    """What a handler got, as JSON: the type and the content."""
    if isinstance(value, BaseModel):
        fields = value.model_dump(mode="json", exclude_defaults=True)
        return {"type": type(value).__name__, "fields": fields}
    if isinstance(value, list):
        return {"type": "list", "items": [describe(item) for item in value]}
    if isinstance(value, bytes):
        return {"type": "bytes", "value": value.decode("utf-8", "replace")}
    return {"type": type(value).__name__, "value": value}


class AllHooksPlugin(Plugin):
    def seen(self, hook_name: str, *arguments: object) -> None:
        self.logger.info(
            f"{hook_name} called",
            extra={"hook": hook_name, "arguments": [describe(a) for a in arguments]},
        )

    # -- lifecycle ------------------------------------------------------------------------
    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        self.seen("OnActivate")
        self.logger.info("activated", extra={"server_version": self.api.get_server_version()})

    @hook(HookName.OnDeactivate)
    def on_deactivate(self) -> None:
        self.seen("OnDeactivate")

    @hook(HookName.OnConfigurationChange)
    def on_configuration_change(self) -> None:
        self.seen("OnConfigurationChange")

    @hook(HookName.OnInstall)
    def on_install(self, context: PluginContext, event: OnInstallEvent) -> None:
        self.seen("OnInstall", context, event)

    @hook(HookName.OnSendDailyTelemetry)
    def on_send_daily_telemetry(self) -> None:
        self.seen("OnSendDailyTelemetry")

    @hook(HookName.RunDataRetention)
    def run_data_retention(self, now_time: int, batch_size: int) -> int:
        self.seen("RunDataRetention", now_time, batch_size)
        return batch_size // 4

    @hook(HookName.OnCloudLimitsUpdated)
    def on_cloud_limits_updated(self, limits: ProductLimits) -> None:
        self.seen("OnCloudLimitsUpdated", limits)

    @hook(HookName.ConfigurationWillBeSaved)
    def configuration_will_be_saved(self, new_config: dict[str, Any]) -> dict[str, Any]:
        self.seen("ConfigurationWillBeSaved", new_config)
        return {**new_config, "AllHooks": {"Checked": True}}

    # -- messages -------------------------------------------------------------------------
    @hook(HookName.MessageWillBePosted)
    def message_will_be_posted(self, context: PluginContext, post: Post) -> tuple[Post, str]:
        self.seen("MessageWillBePosted", context, post)
        return post.model_copy(update={"message": post.message + " [checked]"}), ""

    @hook(HookName.MessageWillBeUpdated)
    def message_will_be_updated(
        self, context: PluginContext, new_post: Post, old_post: Post
    ) -> tuple[Post | None, str]:
        self.seen("MessageWillBeUpdated", context, new_post, old_post)
        return None, f"edits of {old_post.message!r} are not allowed"

    @hook(HookName.MessageHasBeenPosted)
    def message_has_been_posted(self, context: PluginContext, post: Post) -> None:
        self.seen("MessageHasBeenPosted", context, post)

    @hook(HookName.MessageHasBeenUpdated)
    def message_has_been_updated(
        self, context: PluginContext, new_post: Post, old_post: Post
    ) -> None:
        self.seen("MessageHasBeenUpdated", context, new_post, old_post)

    @hook(HookName.MessagesWillBeConsumed)
    def messages_will_be_consumed(self, posts: list[Post]) -> list[Post]:
        self.seen("MessagesWillBeConsumed", posts)
        return [
            p.model_copy(update={"message": p.message.upper()})
            for p in posts
            if "hide" not in p.message
        ]

    @hook(HookName.MessageHasBeenDeleted)
    def message_has_been_deleted(self, context: PluginContext, post: Post) -> None:
        self.seen("MessageHasBeenDeleted", context, post)

    @hook(HookName.FileWillBeUploaded)
    def file_will_be_uploaded(
        self, context: PluginContext, file_info: FileInfo, file_content: bytes
    ) -> tuple[FileInfo, bytes, str]:
        self.seen("FileWillBeUploaded", context, file_info, file_content)
        renamed = file_info.model_copy(update={"name": "checked-" + file_info.name})
        return renamed, file_content.upper(), ""

    @hook(HookName.ReactionHasBeenAdded)
    def reaction_has_been_added(self, context: PluginContext, reaction: Reaction) -> None:
        self.seen("ReactionHasBeenAdded", context, reaction)

    @hook(HookName.ReactionHasBeenRemoved)
    def reaction_has_been_removed(self, context: PluginContext, reaction: Reaction) -> None:
        self.seen("ReactionHasBeenRemoved", context, reaction)

    @hook(HookName.NotificationWillBePushed)
    def notification_will_be_pushed(
        self, push_notification: PushNotification, user_id: str
    ) -> PushNotification:
        self.seen("NotificationWillBePushed", push_notification, user_id)
        message = f"{push_notification.message} (for {user_id})"
        return push_notification.model_copy(update={"message": message})

    @hook(HookName.EmailNotificationWillBeSent)
    def email_notification_will_be_sent(
        self, email_notification: dict[str, Any]
    ) -> tuple[EmailNotificationContent, str]:
        self.seen("EmailNotificationWillBeSent", email_notification)
        content = EmailNotificationContent(
            subject="[Python] " + email_notification["subject"],
            title=email_notification["title"],
            message_text=email_notification["message_text"],
        )
        return content, ""

    @hook(HookName.PreferencesHaveChanged)
    def preferences_have_changed(
        self, context: PluginContext, preferences: list[Preference]
    ) -> None:
        self.seen("PreferencesHaveChanged", context, preferences)

    # -- users, channels, teams -----------------------------------------------------------
    @hook(HookName.UserHasBeenCreated)
    def user_has_been_created(self, context: PluginContext, user: User) -> None:
        self.seen("UserHasBeenCreated", context, user)

    @hook(HookName.UserWillLogIn)
    def user_will_log_in(self, context: PluginContext, user: User) -> str:
        self.seen("UserWillLogIn", context, user)
        return "mallory may not log in" if user.username == "mallory" else ""

    @hook(HookName.UserHasLoggedIn)
    def user_has_logged_in(self, context: PluginContext, user: User) -> None:
        self.seen("UserHasLoggedIn", context, user)

    @hook(HookName.UserHasBeenDeactivated)
    def user_has_been_deactivated(self, context: PluginContext, user: User) -> None:
        self.seen("UserHasBeenDeactivated", context, user)

    @hook(HookName.OnSAMLLogin)
    def on_saml_login(
        self, context: PluginContext, user: User, assertion: dict[str, Any]
    ) -> str | None:
        self.seen("OnSAMLLogin", context, user, assertion)
        name_id = assertion.get("NameID")
        if name_id != user.email:
            return f"SAML NameID {name_id!r} does not match {user.email!r}"
        return None

    @hook(HookName.ChannelHasBeenCreated)
    def channel_has_been_created(self, context: PluginContext, channel: Channel) -> None:
        self.seen("ChannelHasBeenCreated", context, channel)

    @hook(HookName.UserHasJoinedChannel)
    def user_has_joined_channel(
        self, context: PluginContext, channel_member: ChannelMember, actor: User | None
    ) -> None:
        self.seen("UserHasJoinedChannel", context, channel_member, actor)

    @hook(HookName.UserHasLeftChannel)
    def user_has_left_channel(
        self, context: PluginContext, channel_member: ChannelMember, actor: User | None
    ) -> None:
        self.seen("UserHasLeftChannel", context, channel_member, actor)

    @hook(HookName.UserHasJoinedTeam)
    def user_has_joined_team(
        self, context: PluginContext, team_member: TeamMember, actor: User | None
    ) -> None:
        self.seen("UserHasJoinedTeam", context, team_member, actor)

    @hook(HookName.UserHasLeftTeam)
    def user_has_left_team(
        self, context: PluginContext, team_member: TeamMember, actor: User | None
    ) -> None:
        self.seen("UserHasLeftTeam", context, team_member, actor)

    # -- commands, websockets, cluster, shared channels, support --------------------------
    @hook(HookName.ExecuteCommand)
    def execute_command(self, context: PluginContext, args: CommandArgs) -> CommandResponse:
        self.seen("ExecuteCommand", context, args)
        trigger, _, rest = args.command.partition(" ")
        return CommandResponse(
            response_type="ephemeral",
            text=f"{trigger} says {rest}",
            username="all-hooks",
            props={"from_python": True},
        )

    @hook(HookName.OnWebSocketConnect)
    def on_web_socket_connect(self, web_conn_id: str, user_id: str) -> None:
        self.seen("OnWebSocketConnect", web_conn_id, user_id)

    @hook(HookName.OnWebSocketDisconnect)
    def on_web_socket_disconnect(self, web_conn_id: str, user_id: str) -> None:
        self.seen("OnWebSocketDisconnect", web_conn_id, user_id)

    @hook(HookName.WebSocketMessageHasBeenPosted)
    def web_socket_message_has_been_posted(
        self, web_conn_id: str, user_id: str, request: WebSocketRequest
    ) -> None:
        self.seen("WebSocketMessageHasBeenPosted", web_conn_id, user_id, request)

    @hook(HookName.OnPluginClusterEvent)
    def on_plugin_cluster_event(self, context: PluginContext, event: PluginClusterEvent) -> None:
        self.seen("OnPluginClusterEvent", context, event)

    @hook(HookName.OnSharedChannelsSyncMsg)
    def on_shared_channels_sync_msg(
        self, sync_msg: dict[str, Any], remote_cluster: RemoteCluster
    ) -> SyncResponse:
        self.seen("OnSharedChannelsSyncMsg", sync_msg, remote_cluster)
        return SyncResponse(
            users_syncd=[u["id"] for u in sync_msg.get("users", {}).values()],
            posts_last_update_at=max(p["update_at"] for p in sync_msg.get("posts", [])),
        )

    @hook(HookName.OnSharedChannelsPing)
    def on_shared_channels_ping(self, remote_cluster: RemoteCluster) -> bool:
        self.seen("OnSharedChannelsPing", remote_cluster)
        return remote_cluster.name != "down"

    @hook(HookName.OnSharedChannelsAttachmentSyncMsg)
    def on_shared_channels_attachment_sync_msg(
        self, file_info: FileInfo, post: Post, remote_cluster: RemoteCluster
    ) -> None:
        self.seen("OnSharedChannelsAttachmentSyncMsg", file_info, post, remote_cluster)

    @hook(HookName.OnSharedChannelsProfileImageSyncMsg)
    def on_shared_channels_profile_image_sync_msg(
        self, user: User, remote_cluster: RemoteCluster
    ) -> Exception | None:
        self.seen("OnSharedChannelsProfileImageSyncMsg", user, remote_cluster)
        if not user.last_picture_update:
            return ValueError(f"{user.username} has no profile image")
        return None

    @hook(HookName.GenerateSupportData)
    def generate_support_data(self, context: PluginContext) -> list[FileData | dict[str, Any]]:
        self.seen("GenerateSupportData", context)
        return [
            FileData(filename="all_hooks/summary.txt", data=b"all hooks: fine"),
            {"filename": "all_hooks/settings.json", "data": b'{"checked": true}'},
        ]


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(AllHooksPlugin)
