"""Users' presence: statuses (online, away, do not disturb, offline), custom statuses, and
typing notices."""

from __future__ import annotations

import json

from mattermost_plugin._pb.pluginapi.v1 import api_user_team_pb2
from mattermost_plugin.host.fake_server._rpc import Ctx, bad_request, not_found, status
from mattermost_plugin.host.fake_server._state import EMOJI_NAME_RE, FakeState

STATUSES = ("online", "away", "dnd", "offline")
_CUSTOM_STATUS_DURATIONS = frozenset(
    {"", "thirty_minutes", "one_hour", "four_hours", "today", "this_week", "date_and_time"}
)


class StatusesAPI(FakeState):
    def set_status(self, user_id: str, value: str, *, manual: bool, dnd_end_time: int = 0) -> None:
        """Store a user's status (a login sets ``online``, as the server's session does)."""
        self.statuses[user_id] = api_user_team_pb2.Status(
            user_id=user_id,
            status=value,
            manual=manual,
            last_activity_at=self.now_ms(),
            dnd_end_time=dnd_end_time,
        )

    def _status_of(self, user_id: str) -> api_user_team_pb2.Status:
        found = self.statuses.get(user_id)
        if found is None:  # no status yet: the user never was online
            raise not_found("app.status.get.missing.app_error", "status", user_id)
        if (
            found.status == "dnd"
            and found.dnd_end_time
            and found.dnd_end_time * 1000 <= self.now_ms()
        ):
            found.status, found.dnd_end_time = "online", 0  # a timed DND ends by itself
        return found

    @status
    def GetUserStatus(
        self, request: api_user_team_pb2.GetUserStatusRequest, context: Ctx
    ) -> api_user_team_pb2.GetUserStatusResponse:
        """A user's status; a user who never was online (or is unknown) has none (404)."""
        return api_user_team_pb2.GetUserStatusResponse(status=self._status_of(request.user_id))

    @status(never_fails=True)
    def GetUserStatusesByIds(
        self, request: api_user_team_pb2.GetUserStatusesByIdsRequest, context: Ctx
    ) -> api_user_team_pb2.GetUserStatusesByIdsResponse:
        """The statuses of the given users; one without a status is ``offline``, as the
        server answers."""
        found = []
        for user_id in request.user_ids:
            stored = self.statuses.get(user_id)
            found.append(
                self._status_of(user_id)
                if stored is not None
                else api_user_team_pb2.Status(user_id=user_id, status="offline")
            )
        return api_user_team_pb2.GetUserStatusesByIdsResponse(statuses=found)

    @status
    def UpdateUserStatus(
        self, request: api_user_team_pb2.UpdateUserStatusRequest, context: Ctx
    ) -> api_user_team_pb2.UpdateUserStatusResponse:
        """Sets a user's status by hand: online, away, dnd or offline (else 400)."""
        if request.status not in STATUSES:
            raise bad_request(
                "plugin.api.update_user_status.bad_status",
                f"unrecognized status {request.status!r}; one of {', '.join(STATUSES)}",
            )
        self._user(request.user_id)
        self.set_status(request.user_id, request.status, manual=True)
        return api_user_team_pb2.UpdateUserStatusResponse(status=self._status_of(request.user_id))

    @status
    def SetUserStatusTimedDND(
        self, request: api_user_team_pb2.SetUserStatusTimedDNDRequest, context: Ctx
    ) -> api_user_team_pb2.SetUserStatusTimedDNDResponse:
        """Do not disturb until ``end_time`` (seconds since the epoch; it must be in the
        future, else 400); then the status is online again."""
        self._user(request.user_id)
        if request.end_time * 1000 <= self.now_ms():
            raise bad_request(
                "app.status.set_timed_dnd.invalid_end_time.app_error",
                "the end time of a timed do not disturb must be in the future",
            )
        self.set_status(request.user_id, "dnd", manual=True, dnd_end_time=request.end_time)
        response = api_user_team_pb2.SetUserStatusTimedDNDResponse
        return response(status=self._status_of(request.user_id))

    @status
    def UpdateUserCustomStatus(
        self, request: api_user_team_pb2.UpdateUserCustomStatusRequest, context: Ctx
    ) -> api_user_team_pb2.UpdateUserCustomStatusResponse:
        """Sets a user's custom status (kept in the user's ``props["customStatus"]`` as the
        server keeps it): an emoji name, at most 100 characters of text, a known duration."""
        user = self._user(request.user_id)
        custom = request.custom_status
        if custom.emoji and not EMOJI_NAME_RE.match(custom.emoji):
            raise bad_request("api.custom_status.set_custom_statuses.update.app_error", "emoji")
        if len(custom.text) > 100 or custom.duration not in _CUSTOM_STATUS_DURATIONS:
            raise bad_request(
                "api.custom_status.set_custom_statuses.update.app_error",
                "the text is at most 100 characters and the duration a known one",
            )
        user.props["customStatus"] = json.dumps(
            {
                "emoji": custom.emoji,
                "text": custom.text,
                "duration": custom.duration,
                "expires_at": custom.expires_at,
            }
        )
        user.update_at = self.now_ms()
        return api_user_team_pb2.UpdateUserCustomStatusResponse()

    @status
    def RemoveUserCustomStatus(
        self, request: api_user_team_pb2.RemoveUserCustomStatusRequest, context: Ctx
    ) -> api_user_team_pb2.RemoveUserCustomStatusResponse:
        """Clears a user's custom status."""
        user = self._user(request.user_id)
        if "customStatus" in user.props:
            del user.props["customStatus"]
            user.update_at = self.now_ms()
        return api_user_team_pb2.RemoveUserCustomStatusResponse()

    @status(never_fails=True)
    def PublishUserTyping(
        self, request: api_user_team_pb2.PublishUserTypingRequest, context: Ctx
    ) -> api_user_team_pb2.PublishUserTypingResponse:
        """Sends the "typing" WebSocket event to the channel (recorded in
        ``websocket_events``); the server checks nothing."""
        data = {"user_id": request.user_id, "parent_id": request.parent_id}
        self.websocket_events.append(("typing", data, {"channel_id": request.channel_id}))
        self.publish("typing", data, channel_id=request.channel_id)
        return api_user_team_pb2.PublishUserTypingResponse()
