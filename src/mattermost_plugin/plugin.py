"""``Plugin``: the base class of every Python plugin.

A subclass handles a hook with a method named after it (``message_will_be_posted``: typed,
see ``HookMethods``) or with any method marked ``@hook``; the class checks them when it is
defined (unknown hooks, two handlers for one hook, wrong arity). At run time ``run_plugin``
builds the object, connects ``self.api`` and ``self.async_api``, and dispatches hooks to the
handlers. A plugin can also be built with no server at all, for unit tests: ``MyPlugin()``,
then assign ``api`` and ``logger`` as the test needs.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import os
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Generic

from typing_extensions import TypeVar

from mattermost_plugin._generated.hook_methods import HOOK_METHODS, HookMethods
from mattermost_plugin._generated.hook_table import HOOKS
from mattermost_plugin.hooks import hook_name_of
from mattermost_plugin.listeners import Listener, listeners_of

if TYPE_CHECKING:
    from pydantic import BaseModel

    from mattermost_plugin.client import AsyncPluginAPIClient, PluginAPIClient
    from mattermost_plugin.cluster import AsyncCluster, Cluster
    from mattermost_plugin.interactive import Interactions
    from mattermost_plugin.jobs import AsyncJobs, Jobs
    from mattermost_plugin.kv import KV, AsyncKV

# Plain `Plugin` is `Plugin[Any]`, so every plugin class fits `type[Plugin]`.
SettingsT = TypeVar("SettingsT", bound="BaseModel", default=Any)

__all__ = ["HandlerDefinitionError", "Plugin"]

# Handlers receive the plugin context (where the hook has one) and then the payload fields;
# ServeHTTP handlers receive (context, request).
_ARITY_OVERRIDES = {"ServeHTTP": 2}


class HandlerDefinitionError(TypeError):
    """A plugin class's handler cannot be used (wrong arity, a second handler for a hook);
    ``handler`` is its function, so tools can point at its line rather than the class's."""

    def __init__(self, message: str, handler: Callable[..., Any]) -> None:
        super().__init__(message)
        self.handler = handler


def handler_arity(hook_name: str) -> int:
    """How many arguments (after ``self``) the server passes to a handler of this hook."""
    return _ARITY_OVERRIDES.get(hook_name, len(HOOKS[hook_name].args))


def _check_signature(cls_name: str, attr: str, func: Callable[..., Any], hook_name: str) -> None:
    arity = handler_arity(hook_name)
    try:
        inspect.signature(func).bind(None, *range(arity))
    except TypeError:
        if hook_name == "ServeHTTP":
            names = ["context", "request"]
        else:
            # The guide calls the plugin context "context".
            names = [a.name.replace("plugin_context", "context") for a in HOOKS[hook_name].args]
        expected = ", ".join(["self", *names])
        raise HandlerDefinitionError(
            f"{cls_name}.{attr} handles {hook_name}, which passes {arity} argument(s) after "
            f"self; define it as ({expected})",
            func,
        ) from None


def _handled_hook(cls: type, attr: str, value: object) -> str | None:
    """The hook ``attr`` handles: by its ``@hook`` mark, or by its name (``on_activate``)."""
    marked = hook_name_of(value)
    named = HOOK_METHODS.get(attr)
    if named is not None and marked is not None and marked != named:
        raise TypeError(
            f"{cls.__name__}.{attr} is named after the {named} hook but marked "
            f"@hook({marked}); rename it, or mark it @hook({named})"
        )
    if marked is None and named is not None and not callable(value):
        raise TypeError(
            f"{cls.__name__}.{attr} is named after the {named} hook but is not a method "
            f"({type(value).__name__}); hook names are reserved for handlers"
        )
    if marked is None and named is None and getattr(value, "__override__", False):
        _check_override(cls, attr)
    return marked or named


def _check_override(cls: type, attr: str) -> None:
    """``@override`` on a method that overrides nothing: a misspelt hook, most likely."""
    if any(attr in vars(base) for base in cls.__mro__[1:]):
        return
    close = difflib.get_close_matches(attr, list(HOOK_METHODS), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise TypeError(f"{cls.__name__}.{attr} is marked @override but overrides nothing{hint}")


class Plugin(HookMethods, Generic[SettingsT]):
    """Base class of a Mattermost plugin written in Python.

    ``class MyPlugin(Plugin[MySettings])`` declares the plugin's settings model (a Pydantic
    model; see :mod:`mattermost_plugin.settings`): ``self.settings`` is then a ``MySettings``.

    Attributes set for you before ``OnActivate``:
        api: the Plugin API, blocking (``PluginAPIClient``).
        async_api: the same API as coroutines, for ``async def`` handlers.
        logger: a logger whose records reach the server log with their level.

    Built on first use (docs/state.md): ``kv`` / ``async_kv`` (typed KV collections),
    ``cluster`` / ``async_cluster`` (cluster events and mutexes), ``jobs`` / ``async_jobs``
    (once-jobs, job schedules), and the method ``ensure_bot`` / ``async_ensure_bot``;
    ``interactive``: buttons, menus and dialogs (docs/interactive.md).

    Class settings a plugin may override:
        hook_timeout: seconds a handler may run (default: MATTERMOST_PLUGIN_HOOK_TIMEOUT or 30).
        max_workers: threads for ``def`` handlers (default: MATTERMOST_PLUGIN_HOOK_WORKERS or 16).
        http_workers: threads for ``def`` ServeHTTP handlers, their bodies and WSGI apps, apart
            from the hook threads so that slow HTTP clients never delay a hook (default:
            MATTERMOST_PLUGIN_HTTP_WORKERS or 64).
        fail_closed_hooks: hooks that reject when their handler fails, instead of letting the
            action through. Default: only ``UserWillLogIn``. Content hooks (MessageWillBePosted,
            FileWillBeUploaded, …) fail open, so a plugin bug never blocks messages.
        failure_rejection_reason: the reason sent when a fail-closed hook's handler fails.
        max_message_bytes: the largest hook message accepted, in bytes (default:
            MATTERMOST_PLUGIN_MAX_MESSAGE_BYTES, else no cap: FileWillBeUploaded carries
            whole uploads). The server keeps the original file when a message is refused.
        settings_required: fail activation while the settings do not validate (default: the
            plugin activates, and reading ``self.settings`` raises ``SettingsError``).
        reject_invalid_settings: refuse an admin's save of settings that do not validate
            (``ConfigurationWillBeSaved``).
        jobs_poll_interval: seconds between two looks for once-jobs other nodes scheduled
            (default 30; see :mod:`mattermost_plugin.jobs`).
    """

    api: PluginAPIClient
    async_api: AsyncPluginAPIClient
    logger: logging.Logger

    hook_timeout: ClassVar[float | None] = None
    max_workers: ClassVar[int | None] = None
    http_workers: ClassVar[int | None] = None
    max_message_bytes: ClassVar[int | None] = None
    fail_closed_hooks: ClassVar[frozenset[str]] = frozenset({"UserWillLogIn"})
    failure_rejection_reason: ClassVar[str] = (
        "Rejected: a plugin could not process this request. Try again later."
    )

    settings_required: ClassVar[bool] = False
    reject_invalid_settings: ClassVar[bool] = False
    jobs_poll_interval: ClassVar[float] = 30.0
    __settings_model__: ClassVar[type[BaseModel] | None] = None

    # hook name → method name, for this class and its bases
    __hook_handlers__: ClassVar[dict[str, str]] = {}
    # attribute name → the SDK listeners it contributes (see mattermost_plugin.listeners)
    __listener_sources__: ClassVar[dict[str, tuple[Listener, ...]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers = dict(cls.__hook_handlers__)  # inherited ones; a subclass may replace them
        own: dict[str, str] = {}
        for attr, value in vars(cls).items():
            hook_name = _handled_hook(cls, attr, value)
            if hook_name is None:
                continue
            func = getattr(value, "__func__", value)
            if hook_name in own:
                raise HandlerDefinitionError(
                    f"{cls.__name__} has two handlers for {hook_name}: {own[hook_name]} and "
                    f"{attr}; a plugin has one handler per hook",
                    func,
                )
            _check_signature(cls.__name__, attr, func, hook_name)
            own[hook_name] = attr
        handlers.update(own)
        cls.__hook_handlers__ = handlers
        sources = dict(cls.__listener_sources__)  # an attribute redefined here replaces its own
        for attr, value in vars(cls).items():
            if attr in sources or hasattr(value, "__mattermost_listeners__"):
                sources[attr] = tuple(listeners_of(value, cls))
        if "__orig_bases__" in vars(cls) or "<settings>" in sources:
            _declare_settings(cls, sources)
        cls.__listener_sources__ = {attr: found for attr, found in sources.items() if found}

    @classmethod
    def listeners(cls) -> list[Listener]:
        """The SDK listeners this class's features contribute, in chain order per hook
        (see :mod:`mattermost_plugin.listeners`); the runtime adds its own when it runs.
        A listener several attributes contribute (every ``@command`` brings the same two)
        is listed once."""
        groups = cls.__listener_sources__.values()
        found = list(dict.fromkeys(listener for group in groups for listener in group))
        return sorted(found, key=lambda listener: listener.order)

    @classmethod
    def implemented_hooks(cls) -> list[str]:
        """The Go names of the hooks this plugin takes part in, as ``Implemented()`` reports
        them: those with a handler or an SDK listener, and ``OnActivate`` whenever
        ``OnConfigurationChange`` is one of them (the runtime calls it before activation)."""
        wanted = set(cls.__hook_handlers__)
        wanted.update(listener.hook for listener in cls.listeners())
        if "OnConfigurationChange" in wanted:
            wanted.add("OnActivate")
        return [name for name in HOOKS if name in wanted]

    @property
    def settings(self) -> SettingsT:
        """The plugin's settings, as its settings model: the same object for the whole hook
        call. Raises ``SettingsError`` while there are no valid settings."""
        from mattermost_plugin.settings import state_of

        value: SettingsT = state_of(self).snapshot()
        return value

    @settings.setter
    def settings(self, value: SettingsT) -> None:
        # For unit tests of a plugin built without a server.
        from mattermost_plugin.settings import state_of

        state = state_of(self)
        if not isinstance(value, state.model):
            raise TypeError(
                f"settings must be a {state.model.__name__}, not {type(value).__name__}"
            )
        state.current, state.error = value, None

    # -- state and cluster helpers (docs/state.md); built on first use, so a plugin that
    # never uses them does not load their modules
    @cached_property
    def kv(self) -> KV:
        """Typed, namespaced KV collections: ``self.kv.collection("todos", Todo)``."""
        from mattermost_plugin.kv import KV

        return KV(self._connected("api"))

    @cached_property
    def async_kv(self) -> AsyncKV:
        """:attr:`kv` on ``self.async_api``, for ``async def`` code."""
        from mattermost_plugin.kv import AsyncKV

        return AsyncKV(self._connected("async_api"))

    @cached_property
    def cluster(self) -> Cluster:
        """Cluster events: ``self.cluster.publish("event-id", payload)``."""
        from mattermost_plugin.cluster import Cluster

        return Cluster(self._connected("api"))

    @cached_property
    def async_cluster(self) -> AsyncCluster:
        """:attr:`cluster` on ``self.async_api``, for ``async def`` code."""
        from mattermost_plugin.cluster import AsyncCluster

        return AsyncCluster(self._connected("async_api"))

    @cached_property
    def interactive(self) -> Interactions:
        """Buttons, menus and dialogs: ``self.interactive.with_attachments(post, [...])``,
        ``self.interactive.open_dialog(args, Dialog(...))`` (docs/interactive.md)."""
        from mattermost_plugin.interactive._interactions import interactions_of

        return interactions_of(self)

    @cached_property
    def jobs(self) -> Jobs:
        """Once-jobs and job schedules: ``self.jobs.schedule_once(key, at=…, run=…)``."""
        from mattermost_plugin.jobs import Jobs

        return Jobs(self._connected("api"), self)

    @cached_property
    def async_jobs(self) -> AsyncJobs:
        """:attr:`jobs` on ``self.async_api``, for ``async def`` code."""
        from mattermost_plugin.jobs import AsyncJobs

        return AsyncJobs(self._connected("async_api"), self)

    def ensure_bot(
        self,
        username: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        icon: str | os.PathLike[str] | None = None,
    ) -> str:
        """The user id of this plugin's bot ``username``: created on first use, updated to
        the given fields, safe when several nodes call it at once. ``icon`` is an image file
        in the plugin's folder (e.g. ``assets/icon.png``). See :mod:`mattermost_plugin.bots`."""
        from mattermost_plugin.bots import ensure_bot

        api = self._connected("api")
        return ensure_bot(
            api, username, display_name=display_name, description=description, icon=icon
        )

    async def async_ensure_bot(
        self,
        username: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        icon: str | os.PathLike[str] | None = None,
    ) -> str:
        """:meth:`ensure_bot` on ``self.async_api``, for ``async def`` code."""
        from mattermost_plugin.bots import async_ensure_bot

        api = self._connected("async_api")
        return await async_ensure_bot(
            api, username, display_name=display_name, description=description, icon=icon
        )

    def _connected(self, name: str) -> Any:
        # An AttributeError raised inside a property would be swallowed by __getattr__.
        try:
            return getattr(self, name)
        except AttributeError as exc:
            raise RuntimeError(str(exc)) from None

    def __getattr__(self, name: str) -> Any:
        # Only reached when the attribute was never set: explain instead of a bare error.
        if name == "logger":
            from mattermost_plugin.logging import get_plugin_logger

            logger = get_plugin_logger(type(self).__name__)
            self.logger = logger
            return logger
        if name in ("api", "async_api"):
            target = self.__dict__.get("_api_target")
            if target is not None:  # set by run_plugin: connect on first use
                from mattermost_plugin import client

                cls = client.PluginAPIClient if name == "api" else client.AsyncPluginAPIClient
                value = cls(target)
                setattr(self, name, value)
                return value
            raise AttributeError(
                f"{type(self).__name__}.{name} is not connected: run_plugin() sets it before "
                f"OnActivate; in a unit test, assign plugin.{name} yourself"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _declare_settings(cls: type[Plugin[Any]], sources: dict[str, tuple[Listener, ...]]) -> None:
    """``class P(Plugin[Model])``: remember the model and add the settings listeners (which
    depend on class settings, so a subclass recomputes them)."""
    from mattermost_plugin import settings

    model = settings.settings_model_of(cls) or cls.__settings_model__
    if model is None:
        return
    cls.__settings_model__ = model
    sources["<settings>"] = tuple(settings.listeners_for(cls))
