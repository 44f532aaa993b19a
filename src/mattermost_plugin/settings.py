"""Typed plugin settings: one Pydantic model is the schema, the loaded config and its checks.

Declare the model as the plugin's type parameter and read ``self.settings`` in any handler::

    from pydantic import BaseModel, SecretStr
    from mattermost_plugin import Plugin
    from mattermost_plugin.settings import setting


    class Settings(BaseModel):
        \"\"\"Shown above the settings in the System Console.\"\"\"

        enabled: bool = setting(True, display_name="Enable the filter")
        max_links: int = setting(3, help_text="Links a post may contain.")
        api_key: SecretStr = setting(SecretStr(""), display_name="API key")


    class MyPlugin(Plugin[Settings]):
        def message_will_be_posted(self, context, post):
            if not self.settings.enabled: ...

How it works (all of it through :mod:`mattermost_plugin.listeners`, so also in a plugin
without handlers of its own for these hooks):

* On every ``OnConfigurationChange`` — and once before ``OnActivate``, which the runtime calls
  first — the plugin's config (``GetPluginConfig``: ``PluginSettings.Plugins[<id>]``) is
  validated into the model and swapped in at once. Keys match case-insensitively (the server
  may lowercase them); missing keys take the model's defaults.
* A config that does not validate keeps the last good settings; the field paths and reasons
  are logged, never the values. With no good settings yet (normal right after install), the
  plugin still activates and reading ``self.settings`` raises :class:`SettingsError` naming
  the fields; set ``settings_required = True`` on the plugin class to fail activation instead.
* ``on_settings_changed(old, new)`` and ``on_settings_invalid(error)``, when the plugin defines
  them (``def`` or ``async def``), are called after a swap and after a rejected config.
* ``reject_invalid_settings = True`` rejects an admin's save (``ConfigurationWillBeSaved``) whose
  settings for this plugin do not validate, with the reasons as the message.
* Each hook call sees one snapshot: ``self.settings`` returns the same object for the whole call,
  in ``def`` and ``async def`` handlers alike, even when new settings arrive meanwhile.

The manifest's ``settings_schema`` is generated from the model (``mattermost-plugin manifest``;
see :func:`settings_schema` for the type table).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError

from mattermost_plugin.listeners import CallNext, HookCall, Listener, Order, pinned

if TYPE_CHECKING:
    from mattermost_plugin.plugin import Plugin

__all__ = [
    "SettingKind",
    "SettingsError",
    "SettingsState",
    "normalize_keys",
    "setting",
    "settings_schema",
    "validate_settings",
]

S = TypeVar("S", bound=BaseModel)
SettingKind = Literal["text", "longtext", "username", "generated", "radio", "custom"]

_log = logging.getLogger("mattermost_plugin.settings")
# Where setting() keeps what Field() has no parameter for, in json_schema_extra.
EXTRA_KEY = "mattermost"


class SettingsError(Exception):
    """The plugin's settings are not usable: ``problems`` maps each field path to the reason
    (never to the value, which may be a secret)."""

    def __init__(self, message: str, problems: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems = dict(problems or {})


def setting(
    default: Any = ...,
    *,
    display_name: str | None = None,
    help_text: str | None = None,
    placeholder: str | None = None,
    section: str | None = None,
    kind: SettingKind | None = None,
    options: Mapping[Any, str] | None = None,
    regenerate_help_text: str | None = None,
    hosting: Literal["on-prem", "cloud"] | None = None,
) -> Any:
    """A settings field (``pydantic.Field`` with what the System Console shows).

    ``display_name`` and ``help_text`` are Field's ``title`` and ``description``. ``kind``
    picks a setting type the field's Python type cannot say: ``"longtext"`` (a text area),
    ``"radio"`` (choices as radio buttons instead of a dropdown), ``"username"``,
    ``"generated"`` (a random value with a "Regenerate" button) or ``"custom"`` (rendered by
    the plugin's webapp; any JSON value). ``options`` gives choices their display names
    (``{"strict": "Strict mode"}``). ``section`` groups the setting under that title.
    """
    extra: dict[str, Any] = {}
    for key, value in (
        ("placeholder", placeholder),
        ("section", section),
        ("kind", kind),
        ("regenerate_help_text", regenerate_help_text),
        ("hosting", hosting),
    ):
        if value is not None:
            extra[key] = value
    if options is not None:
        extra["options"] = {str(_plain(k)): v for k, v in options.items()}
    field: Any = Field(
        default,
        title=display_name,
        description=help_text,
        json_schema_extra={EXTRA_KEY: extra} if extra else None,
    )
    return field


def _plain(value: Any) -> Any:
    """An enum member's value, other values as they are."""
    return getattr(value, "value", value)


# -- loading ----------------------------------------------------------------------------------
def _field_keys(model: type[BaseModel]) -> dict[str, str]:
    """lowercased key → the key the model validates (its alias, else its name)."""
    keys: dict[str, str] = {}
    for name, info in model.model_fields.items():
        key = info.validation_alias if isinstance(info.validation_alias, str) else None
        key = key or info.alias or name
        keys[key.lower()] = key
        keys.setdefault(name.lower(), key)
    return keys


def normalize_keys(model: type[BaseModel], config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with its keys spelled as the model expects, matched case-insensitively
    (the server may hand them back lowercased). Unknown keys are kept as they are."""
    keys = _field_keys(model)
    return {keys.get(str(key).lower(), key): value for key, value in config.items()}


def _problems(error: PydanticValidationError) -> dict[str, str]:
    """Field path → reason, from Pydantic's errors without their inputs (secrets)."""
    found: dict[str, str] = {}
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        path = ".".join(str(part) for part in item["loc"]) or "(settings)"
        found.setdefault(path, item["msg"])
    return found


def validate_settings(model: type[S], config: Mapping[str, Any]) -> S:
    """The plugin's raw settings (``GetPluginConfig``) as a ``model``; raises
    :class:`SettingsError` naming each field that does not validate, never its value."""
    try:
        return model.model_validate(normalize_keys(model, config))
    except PydanticValidationError as exc:
        problems = _problems(exc)
        listed = "; ".join(f"{path}: {reason}" for path, reason in problems.items())
        raise SettingsError(f"invalid settings: {listed}", problems) from None


class SettingsState(Generic[S]):
    """A plugin's current settings: replaced as a whole, never changed in place."""

    def __init__(self, model: type[S]) -> None:
        self.model = model
        self.current: S | None = None
        self.error: SettingsError | None = SettingsError(
            f"the settings ({model.__name__}) have not been loaded yet: they load on "
            "OnConfigurationChange, which runs before OnActivate"
        )

    def read(self) -> S:
        current = self.current
        if current is None:
            assert self.error is not None
            raise self.error
        return current

    def snapshot(self) -> S:
        """The settings for the running hook call (see :func:`listeners.pinned`)."""
        return pinned("settings", self.read)


def state_of(plugin: Plugin[Any]) -> SettingsState[Any]:
    """The plugin object's settings state, made on first use."""
    model = type(plugin).__settings_model__
    if model is None:
        raise SettingsError(
            f"{type(plugin).__name__} declares no settings model: declare one as "
            f"`class {type(plugin).__name__}(Plugin[MySettings])`"
        )
    state: SettingsState[Any] | None = plugin.__dict__.get("_settings_state")
    if state is None:
        state = plugin.__dict__["_settings_state"] = SettingsState(model)
    return state


# -- listeners ----------------------------------------------------------------------------------
async def _maybe_call(call: HookCall, name: str, *args: Any) -> None:
    callback = getattr(call.plugin, name, None)
    if callback is None:
        return
    try:
        await call.run(callback, *args)
    except Exception:
        _log.exception("%s.%s failed", type(call.plugin).__name__, name)


async def _reload(call: HookCall, call_next: CallNext) -> Any:
    """OnConfigurationChange: load, validate and swap the settings, then the handler."""
    state = state_of(call.plugin)
    raw = await call.plugin.async_api.get_plugin_config()
    try:
        new = validate_settings(state.model, raw or {})
    except SettingsError as error:
        kept = "keeping the last good settings" if state.current is not None else "none yet"
        _log.error(
            "%s; %s",
            error,
            kept,
            extra={"problems": error.problems, "settings_model": state.model.__name__},
        )
        if state.current is None:
            state.error = error
        await _maybe_call(call, "on_settings_invalid", error)
    else:
        old = state.current
        state.current, state.error = new, None  # one assignment: readers see old or new
        if old != new:
            await _maybe_call(call, "on_settings_changed", old, new)
    return await call_next()


async def _require(call: HookCall, call_next: CallNext) -> Any:
    """OnActivate with ``settings_required``: no valid settings, no activation."""
    state_of(call.plugin).read()
    return await call_next()


async def _check_save(call: HookCall, call_next: CallNext) -> Any:
    """ConfigurationWillBeSaved with ``reject_invalid_settings``: refuse an invalid save."""
    (config,) = call.args
    plugins = ((config or {}).get("PluginSettings") or {}).get("Plugins") or {}
    wanted = call.plugin_id.lower()
    mine = next((v for k, v in plugins.items() if str(k).lower() == wanted), None)
    if isinstance(mine, Mapping):
        try:
            validate_settings(state_of(call.plugin).model, mine)
        except SettingsError as error:
            return error
    return await call_next()


def listeners_for(plugin_class: type[Plugin[Any]]) -> Iterable[Listener]:
    """The listeners a plugin class with a settings model gets."""
    yield Listener("OnConfigurationChange", _reload, Order.SETTINGS, "settings")
    if plugin_class.settings_required:
        yield Listener("OnActivate", _require, Order.SETTINGS, "settings")
    if plugin_class.reject_invalid_settings:
        yield Listener("ConfigurationWillBeSaved", _check_save, Order.SETTINGS, "settings")


def settings_model_of(plugin_class: type) -> type[BaseModel] | None:
    """The model in ``class P(Plugin[Model])`` (or inherited from a base), else ``None``."""
    for base in getattr(plugin_class, "__orig_bases__", ()):
        args = getattr(base, "__args__", ())
        if args and inspect.isclass(args[0]) and issubclass(args[0], BaseModel):
            return args[0]
    return None


def settings_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The manifest's ``settings_schema`` for ``model`` (see :mod:`._settings_schema`)."""
    from mattermost_plugin._settings_schema import schema_for

    return schema_for(model)
