"""The server's own answers (license, ids, what the plugin sends out), plugin management,
custom emojis, OAuth apps and groups of the fake, through the SDK's client over real gRPC."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from tests.support.api_client import Clock
from tests.support.coverage import fails, ok

from mattermost_plugin import (
    AlreadyExistsError,
    NotFoundError,
    PluginAPIClient,
    ValidationError,
)
from mattermost_plugin.host.fake_server import FakeMattermost, Mail
from mattermost_plugin.models import (
    AuditRecord,
    Dialog,
    Group,
    GroupSyncable,
    OAuthApp,
    OpenDialogRequest,
    PluginClusterEvent,
    PushNotification,
    Team,
    User,
    WebsocketBroadcast,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16

SERVER = (
    "GetLicense",
    "IsEnterpriseReady",
    "GetSystemInstallDate",
    "GetDiagnosticId",
    "GetTelemetryId",
    "GetCloudLimits",
)


@ok(*SERVER)
def test_server_answers(api: PluginAPIClient, fake: FakeMattermost, clock: Clock) -> None:
    fake.license = {"id": "L1", "features": {"users": 100}}
    fake.enterprise_ready = True
    assert api.get_license() == fake.license
    assert api.is_enterprise_ready()
    installed = api.get_system_install_date()
    clock.advance(60)
    assert api.get_system_install_date() == installed == 1_700_000_000_000
    assert len(api.get_diagnostic_id()) == 26
    assert api.get_telemetry_id() == api.get_diagnostic_id()
    assert api.get_cloud_limits() == {}


@fails(*SERVER)
def test_server_answers_by_default(api: PluginAPIClient) -> None:
    # A server without a license, not an Enterprise build, not in the cloud.
    assert api.get_license() is None
    assert not api.is_enterprise_ready()
    assert api.get_system_install_date() > 0
    assert api.get_diagnostic_id() == api.get_diagnostic_id()
    assert api.get_telemetry_id() == api.get_telemetry_id()
    assert api.get_cloud_limits() == {}


OUTGOING = (
    "SendMail",
    "SendPushNotification",
    "PublishWebSocketEvent",
    "OpenInteractiveDialog",
    "LogAuditRecWithLevel",
    "RegisterCollectionAndTopic",
)


@ok(*OUTGOING)
def test_what_the_plugin_sends(api: PluginAPIClient, fake: FakeMattermost, alice: User) -> None:
    api.send_mail("ops@example.com", "Alert", "<b>down</b>")
    assert list(fake.mails) == [Mail("ops@example.com", "Alert", "<b>down</b>")]
    api.send_push_notification(PushNotification(message="ping"), alice.id)
    assert fake.push_notifications[-1][0] == alice.id
    api.publish_websocket_event("refresh", {"n": 1}, WebsocketBroadcast(user_id=alice.id))
    event, payload, broadcast = fake.websocket_events[-1]
    assert (event, payload, broadcast["user_id"]) == (
        f"custom_{fake.plugin_id}_refresh",
        {"n": 1},
        alice.id,
    )
    with fake.transaction():
        trigger_id = fake.issue_trigger_id(alice.id)  # as a slash command gets one
    api.open_interactive_dialog(
        OpenDialogRequest(trigger_id=trigger_id, url="/plugins/x/dialog", dialog=Dialog(title="T"))
    )
    assert fake.dialogs[-1][0] == alice.id
    api.log_audit_rec_with_level(AuditRecord(event="thing_done", status="success"), "info")
    assert fake.audit_records[-1][0] == "info"
    api.register_collection_and_topic("boards", "cards")
    assert ("boards", "cards") in fake.collections


@fails(*OUTGOING)
def test_what_the_plugin_sends_errors(
    api: PluginAPIClient, fake: FakeMattermost, alice: User, clock: Clock
) -> None:
    with pytest.raises(ValidationError):
        api.send_mail("", "Alert", "body")
    with pytest.raises(NotFoundError):
        api.send_push_notification(PushNotification(message="ping"), "x" * 26)
    api.publish_websocket_event("anything", {}, WebsocketBroadcast())  # never refused
    with fake.transaction():
        trigger_id = fake.issue_trigger_id(alice.id)
    dialog = OpenDialogRequest(trigger_id="made-up", url="/x", dialog=Dialog(title="T"))
    with pytest.raises(ValidationError):
        api.open_interactive_dialog(dialog)
    clock.advance(4)  # trigger ids last 3 s
    dialog.trigger_id = trigger_id
    with pytest.raises(ValidationError):
        api.open_interactive_dialog(dialog)
    assert not fake.dialogs
    api.log_audit_rec_with_level(AuditRecord(), "debug")  # never refused
    api.register_collection_and_topic("", "")


def bundle(manifest: dict[str, object]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("other/plugin.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


PLUGINS = (
    "GetBundlePath",
    "GetPlugins",
    "GetPluginStatus",
    "EnablePlugin",
    "DisablePlugin",
    "RemovePlugin",
    "InstallPlugin",
)


@ok(*PLUGINS)
def test_plugin_management(api: PluginAPIClient, fake: FakeMattermost) -> None:
    fake.bundle_path = "/plugins/com.example.plugin"
    assert api.get_bundle_path() == "/plugins/com.example.plugin"
    manifest = api.install_plugin(bundle({"id": "com.example.other", "version": "1.2.0"}))
    assert (manifest.id, manifest.version) == ("com.example.other", "1.2.0")
    assert [m.id for m in api.get_plugins()] == ["com.example.other"]
    assert api.get_plugin_status("com.example.other").state == 0  # installed, not running
    api.enable_plugin("com.example.other")
    assert api.get_plugin_status("com.example.other").state == 2
    assert fake.config["PluginSettings"]["PluginStates"]["com.example.other"] == {"Enable": True}
    api.disable_plugin("com.example.other")
    assert api.get_plugin_status("com.example.other").state == 0
    api.install_plugin(bundle({"id": "com.example.other", "version": "1.3.0"}), replace=True)
    api.remove_plugin("com.example.other")
    assert api.get_plugins() == []


@fails(*PLUGINS)
def test_plugin_management_errors(api: PluginAPIClient) -> None:
    assert api.get_bundle_path() == ""  # no host: no folder
    assert api.get_plugins() == []
    with pytest.raises(NotFoundError):
        api.get_plugin_status("com.example.none")
    with pytest.raises(NotFoundError):
        api.enable_plugin("com.example.none")
    with pytest.raises(NotFoundError):
        api.disable_plugin("com.example.none")
    with pytest.raises(NotFoundError):
        api.remove_plugin("com.example.none")
    with pytest.raises(ValidationError):
        api.install_plugin(b"not a bundle")
    api.install_plugin(bundle({"id": "com.example.other"}))
    with pytest.raises(ValidationError):  # installed: replace=True to replace it
        api.install_plugin(bundle({"id": "com.example.other"}))


EMOJI = ("GetEmojiList", "GetEmoji", "GetEmojiByName", "GetEmojiImage")


@ok(*EMOJI)
def test_emojis(api: PluginAPIClient, fake: FakeMattermost, alice: User, clock: Clock) -> None:
    with fake.transaction():
        party = fake.add_emoji("party", PNG, alice.id)
        clock.advance(1)
        fake.add_emoji("amazing", PNG, alice.id)
    assert [e.name for e in api.get_emoji_list()] == ["party", "amazing"]
    assert [e.name for e in api.get_emoji_list(sort_by="name")] == ["amazing", "party"]
    assert api.get_emoji(party.id).name == "party"
    assert api.get_emoji_by_name("party").id == party.id
    image = api.get_emoji_image(party.id)
    assert image == PNG or getattr(image, "image", None) == PNG


@fails(*EMOJI)
def test_emoji_errors(api: PluginAPIClient) -> None:
    assert api.get_emoji_list() == []
    with pytest.raises(NotFoundError):
        api.get_emoji("x" * 26)
    with pytest.raises(NotFoundError):
        api.get_emoji_by_name("nope")
    with pytest.raises(NotFoundError):
        api.get_emoji_image("x" * 26)


OAUTH = ("CreateOAuthApp", "GetOAuthApp", "UpdateOAuthApp", "DeleteOAuthApp")


def oauth_app(**fields: str) -> OAuthApp:
    values = {
        "name": "CI",
        "callback_urls": "https://ci.example.com/callback",
        "homepage": "https://ci.example.com",
        **fields,
    }
    return OAuthApp(**values)


@ok(*OAUTH)
def test_oauth_apps(api: PluginAPIClient) -> None:
    app = api.create_oauth_app(oauth_app())
    assert len(app.id) == 26 and len(app.client_secret) == 26
    assert api.get_oauth_app(app.id) == app
    app.description = "builds"
    app.client_secret = "guessed"  # stays
    updated = api.update_oauth_app(app)
    assert updated.description == "builds" and updated.client_secret != "guessed"
    api.delete_oauth_app(app.id)
    with pytest.raises(NotFoundError):
        api.get_oauth_app(app.id)


@fails(*OAUTH)
def test_oauth_app_errors(api: PluginAPIClient) -> None:
    with pytest.raises(ValidationError):
        api.create_oauth_app(oauth_app(callback_urls="not a url"))
    with pytest.raises(NotFoundError):
        api.get_oauth_app("x" * 26)
    with pytest.raises(NotFoundError):
        api.update_oauth_app(oauth_app(id="x" * 26))
    with pytest.raises(NotFoundError):
        api.delete_oauth_app("x" * 26)


GROUPS = (
    "CreateGroup",
    "GetGroup",
    "GetGroupByName",
    "GetGroupsBySource",
    "GetGroupsForUser",
    "GetGroupMemberUsers",
    "UpsertGroupMember",
    "DeleteGroupMember",
    "DeleteGroup",
)
SYNCABLES = (
    "GetGroupSyncable",
    "UpsertGroupSyncable",
    "UpdateGroupSyncable",
    "DeleteGroupSyncable",
)


@ok(*GROUPS, *SYNCABLES)
def test_groups(api: PluginAPIClient, team: Team, alice: User, bob: User) -> None:
    group = api.create_group(
        Group(name="devs", display_name="Developers", source="custom", allow_reference=True)
    )
    assert api.get_group(group.id) == group
    assert api.get_group_by_name("devs").id == group.id
    assert [g.id for g in api.get_groups_by_source("custom")] == [group.id]
    api.upsert_group_member(group.id, alice.id)
    api.upsert_group_member(group.id, bob.id)
    assert [u.username for u in api.get_group_member_users(group.id)] == ["alice", "bob"]
    assert [g.id for g in api.get_groups_for_user(alice.id)] == [group.id]
    assert api.delete_group_member(group.id, bob.id).delete_at > 0
    assert [u.username for u in api.get_group_member_users(group.id)] == ["alice"]

    link = GroupSyncable(group_id=group.id, syncable_id=team.id, syncable_type="Team")
    assert api.upsert_group_syncable(link).create_at > 0
    link.auto_add = True
    assert api.update_group_syncable(link).auto_add
    assert api.get_group_syncable(group.id, team.id, "Team").auto_add
    assert api.delete_group_syncable(group.id, team.id, "Team").delete_at > 0

    assert api.delete_group(group.id).delete_at > 0
    assert api.get_groups_for_user(alice.id) == []


@fails(*GROUPS, *SYNCABLES)
def test_group_errors(api: PluginAPIClient, team: Team, alice: User) -> None:
    with pytest.raises(ValidationError):
        api.create_group(Group(name="x", display_name="X", source="nowhere"))
    api.create_group(Group(name="devs", display_name="Developers", source="custom"))
    with pytest.raises(AlreadyExistsError):
        api.create_group(Group(name="devs", display_name="Again", source="custom"))
    with pytest.raises(NotFoundError):
        api.get_group("x" * 26)
    with pytest.raises(NotFoundError):
        api.get_group_by_name("nobody")
    with pytest.raises(ValidationError):
        api.get_groups_by_source("nowhere")
    assert api.get_groups_for_user(alice.id) == []
    with pytest.raises(NotFoundError):
        api.get_group_member_users("x" * 26)
    with pytest.raises(NotFoundError):
        api.upsert_group_member("x" * 26, alice.id)
    group = api.get_group_by_name("devs")
    with pytest.raises(NotFoundError):
        api.delete_group_member(group.id, alice.id)
    with pytest.raises(NotFoundError):
        api.delete_group("x" * 26)
    with pytest.raises(NotFoundError):
        api.get_group_syncable(group.id, team.id, "Team")
    with pytest.raises(ValidationError):
        api.upsert_group_syncable(
            GroupSyncable(group_id=group.id, syncable_id=team.id, syncable_type="Planet")
        )
    with pytest.raises(NotFoundError):
        api.update_group_syncable(
            GroupSyncable(group_id=group.id, syncable_id=team.id, syncable_type="Team")
        )
    with pytest.raises(NotFoundError):
        api.delete_group_syncable(group.id, team.id, "Team")


@ok("PublishPluginClusterEvent")
def test_cluster_events(api: PluginAPIClient, fake: FakeMattermost) -> None:
    delivered: list[str] = []
    fake.deliver_cluster_event = lambda event, context: delivered.append(event.event.id)
    api.publish_plugin_cluster_event(PluginClusterEvent(id="flush", data=b"k"))
    assert [(e.event.id, e.event.data) for e in fake.cluster_events] == [("flush", b"k")]
    assert delivered == ["flush"]


@fails("PublishPluginClusterEvent")
def test_cluster_events_reach_no_one_on_one_node(
    api: PluginAPIClient, fake: FakeMattermost
) -> None:
    # Never refused; without another node (no deliver_cluster_event) it reaches no one.
    api.publish_plugin_cluster_event(PluginClusterEvent(id="", data=b""))
    assert len(fake.cluster_events) == 1
