"""The server itself: license, edition, install date and ids; what the plugin sends out of
the server (mail, push notifications, WebSocket events, dialogs, audit records), which the
fake records for tests to look at."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format

from mattermost_plugin._pb.pluginapi.v1 import (
    api_kv_config_pb2,
    api_remaining_pb2,
)
from mattermost_plugin.host.fake_server._rpc import Ctx, bad_request, status
from mattermost_plugin.host.fake_server._state import FakeState, new_id

TRIGGER_TIMEOUT_MS = 3000
"""How long a trigger id opens a dialog (the server's InteractiveDialogTriggerTimeout)."""


@dataclass(frozen=True)
class Mail:
    """A mail the plugin sent (``SendMail``)."""

    to: str
    subject: str
    html_body: str


class SystemAPI(FakeState):
    def _system_value(self, name: str, make: Any) -> str:
        """A value of the server that stays the same for its lifetime (and its state file)."""
        if name not in self.system:
            self.system[name] = str(make()).encode()
        return self.system[name].decode()

    def issue_trigger_id(self, user_id: str) -> str:
        """A trigger id for an interaction of ``user_id`` (a slash command, a button),
        valid for :data:`TRIGGER_TIMEOUT_MS` to open a dialog."""
        trigger_id = new_id()
        self.trigger_ids[trigger_id] = (user_id, self.now_ms())
        return trigger_id

    @status(never_fails=True)
    def GetLicense(
        self, request: api_remaining_pb2.GetLicenseRequest, context: Ctx
    ) -> api_remaining_pb2.GetLicenseResponse:
        """The license (``license``, none by default: ``null``, as a server without one)."""
        license_json = json.dumps(self.license).encode()
        return api_remaining_pb2.GetLicenseResponse(license_json=license_json)

    @status(never_fails=True)
    def IsEnterpriseReady(
        self, request: api_remaining_pb2.IsEnterpriseReadyRequest, context: Ctx
    ) -> api_remaining_pb2.IsEnterpriseReadyResponse:
        """Whether the server is an Enterprise build (``enterprise_ready``, false)."""
        ready = self.enterprise_ready
        return api_remaining_pb2.IsEnterpriseReadyResponse(is_enterprise_ready=ready)

    @status(never_fails=True)
    def GetSystemInstallDate(
        self, request: api_remaining_pb2.GetSystemInstallDateRequest, context: Ctx
    ) -> api_remaining_pb2.GetSystemInstallDateResponse:
        """When the server was installed (its first call of this, ms; kept in the state)."""
        date = int(self._system_value("install_date", self.now_ms))
        return api_remaining_pb2.GetSystemInstallDateResponse(install_date=date)

    @status(never_fails=True)
    def GetDiagnosticId(
        self, request: api_remaining_pb2.GetDiagnosticIdRequest, context: Ctx
    ) -> api_remaining_pb2.GetDiagnosticIdResponse:
        """The server's telemetry id (one id for its lifetime)."""
        diagnostic_id = self._system_value("telemetry_id", new_id)
        return api_remaining_pb2.GetDiagnosticIdResponse(diagnostic_id=diagnostic_id)

    @status(never_fails=True)
    def GetTelemetryId(
        self, request: api_remaining_pb2.GetTelemetryIdRequest, context: Ctx
    ) -> api_remaining_pb2.GetTelemetryIdResponse:
        """The server's telemetry id (the same as GetDiagnosticId's)."""
        telemetry_id = self._system_value("telemetry_id", new_id)
        return api_remaining_pb2.GetTelemetryIdResponse(telemetry_id=telemetry_id)

    @status(never_fails=True)
    def GetCloudLimits(
        self, request: api_remaining_pb2.GetCloudLimitsRequest, context: Ctx
    ) -> api_remaining_pb2.GetCloudLimitsResponse:
        """The cloud product limits: none (``{}``) for a server that is not in the cloud."""
        return api_remaining_pb2.GetCloudLimitsResponse(limits_json=b"{}")

    @status
    def SendMail(
        self, request: api_remaining_pb2.SendMailRequest, context: Ctx
    ) -> api_remaining_pb2.SendMailResponse:
        """Sends a mail (recorded in ``mails``); the recipient, the subject and the body are
        required (400)."""
        for field, value in (("to", request.to), ("subject", request.subject)):
            if not value:
                raise bad_request(f"plugin_api.send_mail.missing_{field}", f"no {field}")
        if not request.html_body:
            raise bad_request("plugin_api.send_mail.missing_htmlbody", "no body")
        self.mails.append(Mail(request.to, request.subject, request.html_body))
        return api_remaining_pb2.SendMailResponse()

    @status
    def SendPushNotification(
        self, request: api_remaining_pb2.SendPushNotificationRequest, context: Ctx
    ) -> api_remaining_pb2.SendPushNotificationResponse:
        """Sends a push notification to a user's devices (recorded in
        ``push_notifications``); the user must exist."""
        self._user(request.user_id)
        notification = api_remaining_pb2.PushNotification()
        notification.CopyFrom(request.notification)
        self.push_notifications.append((request.user_id, notification))
        return api_remaining_pb2.SendPushNotificationResponse()

    @status(never_fails=True)
    def PublishWebSocketEvent(
        self, request: api_kv_config_pb2.PublishWebSocketEventRequest, context: Ctx
    ) -> api_kv_config_pb2.PublishWebSocketEventResponse:
        """Sends a WebSocket event named ``custom_<plugin id>_<event>`` (recorded in
        ``websocket_events`` with its payload and broadcast)."""
        name = f"custom_{self.plugin_id}_{request.event}"
        payload = json_format.MessageToDict(request.payload)
        broadcast = json_format.MessageToDict(request.broadcast, preserving_proto_field_name=True)
        self.websocket_events.append((name, payload, broadcast))
        self.publish(name, payload, **broadcast)
        return api_kv_config_pb2.PublishWebSocketEventResponse()

    @status
    def OpenInteractiveDialog(
        self, request: api_remaining_pb2.OpenInteractiveDialogRequest, context: Ctx
    ) -> api_remaining_pb2.OpenInteractiveDialogResponse:
        """Opens a dialog for the user of a trigger id the server issued (a slash command's)
        within 3 s (400 otherwise), with a URL and a title (400); recorded in ``dialogs``."""
        opened = request.dialog
        issued = self.trigger_ids.get(opened.trigger_id)
        if issued is None:
            raise bad_request(
                "interactive_message.decode_trigger_id.signature_decode_failed",
                "the trigger id was not issued by this server",
            )
        user_id, at = issued
        if self.now_ms() - at > TRIGGER_TIMEOUT_MS:
            raise bad_request(
                "interactive_message.decode_trigger_id.expired",
                f"the trigger id is older than {TRIGGER_TIMEOUT_MS} ms",
            )
        if not opened.url or not opened.dialog.title:
            raise bad_request(
                "interactive_message.generate_trigger_id.invalid_dialog",
                "a dialog needs a URL and a title",
            )
        dialog = api_remaining_pb2.OpenDialogRequest()
        dialog.CopyFrom(opened)
        self.dialogs.append((user_id, dialog))
        self.publish("open_dialog", {"dialog": dialog}, user_id=user_id)
        return api_remaining_pb2.OpenInteractiveDialogResponse()

    @status(never_fails=True)
    def LogAuditRecWithLevel(
        self, request: api_remaining_pb2.LogAuditRecWithLevelRequest, context: Ctx
    ) -> api_remaining_pb2.LogAuditRecWithLevelResponse:
        """Writes an audit record at a level (recorded in ``audit_records``)."""
        record = json_format.MessageToDict(request.record, preserving_proto_field_name=True)
        record.setdefault("create_at", self.now_ms())
        self.audit_records.append((request.level, record))
        return api_remaining_pb2.LogAuditRecWithLevelResponse()

    @status(never_fails=True)
    def RegisterCollectionAndTopic(
        self, request: api_remaining_pb2.RegisterCollectionAndTopicRequest, context: Ctx
    ) -> api_remaining_pb2.RegisterCollectionAndTopicResponse:
        """Registers a collection type and a topic type of the plugin (recorded in
        ``collections``; one plugin cannot clash with another here)."""
        self.collections.add((request.collection_type, request.topic_type))
        return api_remaining_pb2.RegisterCollectionAndTopicResponse()
