"""Test a plugin for real, without a Mattermost server: a pytest plugin and its helpers.

Installing the SDK registers a pytest plugin (entry point ``pytest11``) with these fixtures:

``mattermost``
    A started :class:`LocalMattermost`: a fake Mattermost (the Plugin API, in memory) and
    your plugin folder running under the supervisor as a real subprocess, exactly as the
    server runs it (handshake, health check, ``Implemented``, ``OnActivate``). It is stopped
    (``OnDeactivate``) after the test; when the test fails, the plugin's log is shown in the
    report, a failing handler with its traceback (the plugin's frames; all under ``-v``).
    It comes with a team ``local``, a user ``admin`` and the channels ``town-square`` and
    ``off-topic`` (``mattermost.team``, ``.user``, ``.channel``).

``mattermost_cluster``
    The same with the plugin running as a cluster: 3 nodes (``nodes=`` of the marker for
    another number), each its own plugin process with its own API endpoint, on one shared
    store and clock. Hooks and HTTP requests are spread over the running nodes (round
    robin; ``mattermost_cluster.nodes[1].get(...)`` picks one), cluster events the plugin
    publishes reach every other node, and ``nodes[i].kill()`` SIGKILLs a node, which stays
    down until ``nodes[i].start()``.

``mattermost_plugin_dir``
    The plugin folder. Taken, in this order, from the ``mattermost_plugin`` marker's first
    argument (relative to the test file), the ``mattermost_plugin_dir`` ini option
    (relative to the ini file), or the rootdir if it holds a ``plugin.json``. Override the
    fixture to compute it.

``mattermost_plugin_config``
    The plugin's settings when it starts (``GetPluginConfig``): the marker's ``config=``,
    else ``{}``. Override the fixture for per-test settings.

Example (``tests/test_plugin.py`` of a plugin project, ``mattermost_plugin_dir = .`` in
``pytest.ini``)::

    import pytest
    from mattermost_plugin.testing import PostRejectedError


    def test_message_filter(mattermost):
        # Test that spam is rejected
        with pytest.raises(PostRejectedError) as rejected:
            mattermost.create_post(mattermost.channel, "This is spam")
        assert "spam" in rejected.value.reason.lower()

        # Test that normal messages pass
        post = mattermost.create_post(mattermost.channel, "Hello, world!")
        assert mattermost.get_post(post.id).message == "Hello, world!"

What :class:`LocalMattermost` offers (see its documentation):

* data: ``create_user``, ``create_team``, ``create_channel(members=...)``,
  ``add_to_team``/``remove_from_team``, ``add_to_channel``/``remove_from_channel``,
  ``direct_channel`` (with the hooks the server runs), ``login(user, password)``
  (``UserWillLogIn``, ``UserHasLoggedIn``; raises :class:`LoginRejectedError`);
* ``create_post`` (``MessageWillBePosted``, store, ``MessageHasBeenPosted``; raises
  :class:`PostRejectedError`), ``update_post(post_or_id, message, ...)``
  (``MessageWillBeUpdated`` with the new and old post, store, ``MessageHasBeenUpdated``;
  raises :class:`PostRejectedError`), ``delete_post`` (``MessageHasBeenDeleted``),
  ``add_reaction``/``remove_reaction(post, emoji_name, user=...)``
  (``ReactionHasBeenAdded``/``ReactionHasBeenRemoved``), ``set_preferences(preferences,
  user=...)`` (``PreferencesHaveChanged``), ``execute_command("/trigger args")`` (raises
  :class:`CommandError`), ``http``/``get``/``post``/``put``/``patch``/``delete`` and
  ``stream`` to ``ServeHTTP`` (as the default user; ``user=`` another, ``user=ANONYMOUS``
  none), ``click(post, "Approve", user=..., selected_option=...)`` (a button or menu, the
  plugin's answer applied; an :class:`ActionResult`) and ``submit_dialog(values, user=...)``
  (the latest dialog the plugin opened; its ``SubmitDialogResponse``), ``set_plugin_config``
  and ``patch_config`` (``OnConfigurationChange``), ``call_hook`` for any other hook;
* inspection: ``posts(channel)``, ``get_post``, ``ephemeral_posts(user)``,
  ``reactions(post)``, ``preferences(user)``, ``actions(post)``, ``dialogs(user)``
  (:class:`OpenedDialog`), ``kv_get``, ``kv_keys``, ``logs``,
  ``find_logs``, ``wait_for_log``, ``wait_for_hooks``, the typed ``api`` client (the same
  Plugin API the plugin has) and ``server``, the fake itself;
* ``reload()`` to restart the plugin folder, ``supervisor`` for the process;
* ``nodes`` (:class:`LocalNode`: ``pid``, ``kill()``, ``start()``, ``stop()``, ``get``,
  ``post``, ``http``, ``call_hook``, ``logs``) and ``serving()`` (one node for a block).

Markers: ``@pytest.mark.mattermost_plugin("path/to/plugin", config={...}, db="state.db",
hook_timeout=5.0, nodes=3)``.
"""

from __future__ import annotations

from mattermost_plugin.host.fake_server import FakeAppError, FakeMattermost
from mattermost_plugin.host.local import (
    ANONYMOUS,
    NO_RESTARTS,
    ActionResult,
    CommandError,
    Event,
    HookCallError,
    HTTPResult,
    LocalMattermost,
    LocalNode,
    LoginRejectedError,
    LogRecord,
    OpenedDialog,
    PostDismissedError,
    PostRejectedError,
    local_mattermost,
)
from mattermost_plugin.host.supervisor import PluginStartError

__all__ = [
    "ANONYMOUS",
    "NO_RESTARTS",
    "ActionResult",
    "CommandError",
    "Event",
    "FakeAppError",
    "FakeMattermost",
    "HTTPResult",
    "HookCallError",
    "LocalMattermost",
    "LocalNode",
    "LogRecord",
    "LoginRejectedError",
    "OpenedDialog",
    "PluginStartError",
    "PostDismissedError",
    "PostRejectedError",
    "local_mattermost",
]
