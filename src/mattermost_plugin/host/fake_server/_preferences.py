"""User preferences."""

from __future__ import annotations

from collections.abc import Iterable

from mattermost_plugin._pb.pluginapi.v1 import (
    api_remaining_pb2,
    hooks_message_pb2,
)
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    FakeAppError,
    bad_request,
    not_found,
    status,
)
from mattermost_plugin.host.fake_server._state import (
    FakeState,
)


class PreferencesAPI(FakeState):
    # -------------------------------------------------------------------- preferences (status)

    @status
    def GetPreferenceForUser(
        self, request: api_remaining_pb2.GetPreferenceForUserRequest, context: Ctx
    ) -> api_remaining_pb2.GetPreferenceForUserResponse:
        """One preference of a user."""
        key = (request.user_id, request.category, request.name)
        preference = self.preferences.get(key)
        if preference is None:
            raise not_found("app.preference.get.app_error", "preference", "/".join(key))
        return api_remaining_pb2.GetPreferenceForUserResponse(preference=preference)

    @status(never_fails=True)
    def GetPreferencesForUser(
        self, request: api_remaining_pb2.GetPreferencesForUserRequest, context: Ctx
    ) -> api_remaining_pb2.GetPreferencesForUserResponse:
        """A user's preferences, by category and name."""
        found = sorted(
            (p for (user, _, _), p in self.preferences.items() if user == request.user_id),
            key=lambda p: (p.category, p.name),
        )
        return api_remaining_pb2.GetPreferencesForUserResponse(preferences=found)

    def _check_preferences(
        self, user_id: str, preferences: Iterable[api_remaining_pb2.Preference]
    ) -> None:
        self._user(user_id)
        for preference in preferences:
            if preference.user_id != user_id:
                raise FakeAppError(
                    "api.preference.update_preferences.set.app_error",
                    "preferences can only be changed for the user they belong to",
                    403,
                )
            if not preference.category or len(preference.category) > 32:
                raise bad_request("model.preference.is_valid.category.app_error", "category")
            if len(preference.name) > 32:
                raise bad_request("model.preference.is_valid.name.app_error", "name too long")
            if len(preference.value) > 2000:
                raise bad_request("model.preference.is_valid.value.app_error", "value too long")

    def _preferences_changed(self, preferences: Iterable[api_remaining_pb2.Preference]) -> None:
        changed = list(preferences)
        self.fire(
            "PreferencesHaveChanged",
            lambda: hooks_message_pb2.PreferencesHaveChangedRequest(
                plugin_context=self.plugin_context(), preferences=changed
            ),
        )

    @status(hooks=("PreferencesHaveChanged",))
    def UpdatePreferencesForUser(
        self, request: api_remaining_pb2.UpdatePreferencesForUserRequest, context: Ctx
    ) -> api_remaining_pb2.UpdatePreferencesForUserResponse:
        """Saves a user's preferences (only the user's own, else 403; all or none);
        PreferencesHaveChanged runs."""
        self._check_preferences(request.user_id, request.preferences)  # all or nothing
        for preference in request.preferences:
            stored = api_remaining_pb2.Preference()
            stored.CopyFrom(preference)
            self.preferences[(preference.user_id, preference.category, preference.name)] = stored
        self._preferences_changed(request.preferences)
        return api_remaining_pb2.UpdatePreferencesForUserResponse()

    # The lead's reading: deleting preferences runs PreferencesHaveChanged too (with the
    # deleted ones). Not verified against the server's code, which may announce deletions
    # only over the WebSocket.
    @status(hooks=("PreferencesHaveChanged",))
    def DeletePreferencesForUser(
        self, request: api_remaining_pb2.DeletePreferencesForUserRequest, context: Ctx
    ) -> api_remaining_pb2.DeletePreferencesForUserResponse:
        """Deletes a user's preferences (only the user's own, else 403); PreferencesHaveChanged runs
        with them."""
        self._check_preferences(request.user_id, request.preferences)
        for p in request.preferences:
            self.preferences.pop((p.user_id, p.category, p.name), None)
        self._preferences_changed(request.preferences)
        return api_remaining_pb2.DeletePreferencesForUserResponse()
