"""A plugin class's ``@action`` and ``@dialog`` handlers, and the listeners that serve them.

``OnActivate`` (before the plugin's own handler): load or create the signing key, so that
activation code can already post buttons. ``ServeHTTP``: requests under the reserved
prefixes (``/_sdk/actions/<name>``, ``/_sdk/dialogs/<name>``) are answered here; every
other request goes on to the plugin's own ServeHTTP handler (or its mounted app).

An action request is refused with 403 (and a warning in the log, naming the user, the
action and why, never the token) unless its context carries a token this plugin signed
for this action, whose channel is the request's and whose post is the request's: the same
id for a post whose id was known when it was signed, else a stored post by the same
author in that channel that carries this very token. A dialog submission is refused
unless its state is a token this plugin signed for this dialog (and, when it was opened
from a command or a click, for this user). The user is always the server's
``Mattermost-User-Id`` header, never a field of the body.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import typing
import weakref
from typing import TYPE_CHECKING, Any, get_args, get_origin

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from mattermost_plugin._generated.hook_methods import HOOK_METHODS
from mattermost_plugin.errors import NotFoundError, ValidationError
from mattermost_plugin.interactive._declare import HandlerInfo, handler_of
from mattermost_plugin.interactive._dialogs import parse_submission
from mattermost_plugin.interactive._interactions import interactions_of
from mattermost_plugin.interactive._messages import (
    ACTION_PREFIX,
    CONTEXT_TOKEN,
    DIALOG_PREFIX,
    Binding,
    actions_of,
    render_attachments,
)
from mattermost_plugin.interactive._requests import (
    ActionRequest,
    ActionResponse,
    DialogResponse,
    DialogSubmission,
)
from mattermost_plugin.interactive._signing import InvalidToken, verify
from mattermost_plugin.listeners import CallNext, HookCall, Listener, Order

if TYPE_CHECKING:
    from mattermost_plugin.http import HTTPRequest
    from mattermost_plugin.models import Post
    from mattermost_plugin.plugin import Plugin

__all__ = ["MAX_BODY", "Handler", "InteractiveTable", "listeners_for", "table_for"]

MAX_BODY = 1024 * 1024
"""The largest click or submission body read (413 past it); the server's are a few KiB."""
ACTION_FAILED = "The action failed: an error occurred in the plugin. It has been logged."
DIALOG_FAILED = "An error occurred in the plugin. It has been logged."


class Refused(Exception):
    """A request the SDK does not pass to a handler: ``status`` and the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class Handler:
    """One ``@action`` or ``@dialog`` method; ``adapter`` validates the context or the
    values into the type its signature names (``None``: passed as they are)."""

    __slots__ = ("adapter", "analyzed", "attr", "info", "owner")

    def __init__(self, info: HandlerInfo, attr: str, owner: str) -> None:
        self.info, self.attr, self.owner = info, attr, owner
        self.adapter: TypeAdapter[Any] | None = None
        self.analyzed = False

    @property
    def where(self) -> str:
        return f"{self.owner}.{self.attr} (@{self.info.kind} {self.info.name!r})"

    def analyze(self) -> None:
        """Check the signature: ``(self, request)``, the request annotated with the kind's
        class or that class of a type. Raises ``TypeError``, or ``NameError`` for an
        annotation that does not resolve yet."""
        if self.analyzed:
            return
        func = self.info.func
        expected = ActionRequest if self.info.kind == "action" else DialogSubmission
        params = list(inspect.signature(func).parameters.values())
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        if len(params) != 2 or any(p.kind not in positional for p in params):
            raise TypeError(
                f"{self.where}: define it as (self, request: {expected.__name__}[...]); it "
                f"receives one {expected.__name__}"
            )
        try:
            hints = typing.get_type_hints(func)
        except NameError as exc:
            raise NameError(
                f"{func.__qualname__}: cannot read the annotation: {exc}; import the type at "
                "run time (not under TYPE_CHECKING)"
            ) from exc
        annotation = hints.get(params[1].name, expected)
        if annotation is not expected:
            if get_origin(annotation) is not expected:
                raise TypeError(
                    f"{self.where}: its argument is a {expected.__name__}; annotate it "
                    f"{expected.__name__} or {expected.__name__}[YourModel], not {annotation!r}"
                )
            (target,) = get_args(annotation)
            if target is not Any and target != dict[str, Any]:
                try:
                    self.adapter = TypeAdapter(target)
                except Exception as exc:
                    raise TypeError(
                        f"{self.where}: cannot validate into {target!r}: {exc}"
                    ) from None
        self.analyzed = True


class InteractiveTable:
    """The action and dialog handlers of one plugin class (its own and inherited ones)."""

    def __init__(self, owner: type) -> None:
        self.actions: dict[str, Handler] = {}
        self.dialogs: dict[str, Handler] = {}
        values: dict[str, object] = {}
        for klass in reversed(owner.__mro__):
            values.update(vars(klass))
        for attr, value in values.items():
            info = handler_of(value)
            if info is None:
                continue
            hook = HOOK_METHODS.get(attr)
            if hook is not None:
                raise TypeError(
                    f"{owner.__name__}.{attr} handles @{info.kind} {info.name!r}, but {attr} is "
                    f"the name of the {hook} hook's handler; give the method another name"
                )
            table = self.actions if info.kind == "action" else self.dialogs
            existing = table.get(info.name)
            if existing is not None:
                raise TypeError(
                    f"{owner.__name__}.{attr}: @{info.kind} {info.name!r} is already handled "
                    f"by {existing.attr}"
                )
            table[info.name] = Handler(info, attr, owner.__name__)
        with contextlib.suppress(NameError):  # a type defined later: checked on activation
            self.ready()

    def ready(self) -> None:
        for handler in (*self.actions.values(), *self.dialogs.values()):
            handler.analyze()


_TABLES: weakref.WeakKeyDictionary[type, InteractiveTable] = weakref.WeakKeyDictionary()


def table_for(owner: type) -> InteractiveTable:
    """The table of a plugin class, built once."""
    table = _TABLES.get(owner)
    if table is None:
        table = _TABLES[owner] = InteractiveTable(owner)
    return table


# -- the listeners ----------------------------------------------------------------------------


async def _activate(call: HookCall, call_next: CallNext) -> Any:
    """OnActivate: the signing key first (so activation code can post buttons)."""
    table_for(type(call.plugin)).ready()
    await interactions_of(call.plugin).load(call.plugin_id, call.remaining())
    return await call_next()


async def _serve(call: HookCall, call_next: CallNext) -> Any:
    """ServeHTTP: answer the reserved prefixes, pass every other request on."""
    request: HTTPRequest = call.args[1]
    path = request.path
    if path.startswith(ACTION_PREFIX):
        kind, name = "action", path[len(ACTION_PREFIX) :]
    elif path.startswith(DIALOG_PREFIX):
        kind, name = "dialog", path[len(DIALOG_PREFIX) :]
    else:
        return await call_next()
    try:
        if request.method != "POST":
            return _json(405, {"error": "use POST"}, {"Allow": "POST"})
        table = table_for(type(call.plugin))
        handler = (table.actions if kind == "action" else table.dialogs).get(name)
        if handler is None:
            raise Refused(404, f"no @{kind} handler named {name!r}")
        body = await _read(request)
        if not request.user_id:
            raise Refused(401, "no Mattermost-User-Id: not a request the server sent")
        if kind == "action":
            return _json(200, await _action(call, handler, request.user_id, body))
        return _json(200, await _dialog(call, handler, request.user_id, body))
    except Refused as refused:
        if refused.status == 403:
            call.plugin.logger.warning(
                "refused a %s request for %r: %s",
                kind,
                name,
                refused.reason,
                extra={"user_id": request.user_id, kind: name},
            )
        return _json(refused.status, {"error": refused.reason})


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "status_code": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(data),
    }


async def _read(request: HTTPRequest) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.astream():
        size += len(chunk)
        if size > MAX_BODY:
            raise Refused(413, f"the body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _failed(call: HookCall, handler: Handler, exc: BaseException) -> None:
    reason = str(exc) or type(exc).__name__
    call.plugin.logger.error(
        "%s failed: %s",
        handler.where,
        reason,
        exc_info=exc,
        extra={handler.info.kind: handler.info.name},
    )


# -- actions ----------------------------------------------------------------------------------


async def _action(call: HookCall, handler: Handler, user_id: str, raw: bytes) -> dict[str, Any]:
    from mattermost_plugin.interactive._wire import PostActionIntegrationRequest

    try:
        body = PostActionIntegrationRequest.model_validate_json(raw or b"{}")
    except PydanticValidationError:
        raise Refused(400, "the body is not a PostActionIntegrationRequest") from None
    interactions = interactions_of(call.plugin)
    key = await interactions.key_async()
    token = body.context.get(CONTEXT_TOKEN)
    try:
        payload = verify(key, token)
    except InvalidToken as exc:
        raise Refused(403, f"the context is not signed by this plugin ({exc})") from None
    if payload.get("t") != "action" or payload.get("p") != call.plugin_id:
        raise Refused(403, "the context was signed for another plugin or purpose")
    if payload.get("a") != handler.info.name:
        raise Refused(403, f"the context was signed for the action {payload.get('a')!r}")
    if payload.get("ch") != body.channel_id:
        raise Refused(403, "the context was signed for another channel")
    post = await _bound_post(call, payload, token, body.post_id)
    selected = body.context.get("selected_option")
    try:
        context = payload.get("c")
        if handler.adapter is not None:
            context = handler.adapter.validate_python(context)
        request: ActionRequest[Any] = ActionRequest(
            user_id=user_id,
            post_id=body.post_id,
            channel_id=body.channel_id,
            context=context,
            action=handler.info.name,
            action_id=str(payload.get("i", "")),
            post=post,
            type=body.type or ("select" if selected is not None else "button"),
            selected_option=selected if isinstance(selected, str) else None,
            data_source=body.data_source,
            trigger_id=body.trigger_id,
            user_name=body.user_name,
            channel_name=body.channel_name,
            team_id=body.team_id,
            team_domain=body.team_domain,
        )
        result = await call.run(getattr(call.plugin, handler.attr), request)
        return _action_answer(result, request, payload, interactions.plugin_id, key)
    except Exception as exc:
        _failed(call, handler, exc)
        return {"ephemeral_text": ACTION_FAILED}


async def _bound_post(
    call: HookCall, payload: dict[str, Any], token: object, post_id: str
) -> Post | None:
    """The post the token is bound to, checked against the request's ``post_id``."""
    bound_id = payload.get("po")
    if bound_id:
        if bound_id != post_id:
            raise Refused(403, "the context was signed for another post")
        return None  # an ephemeral post (the server keeps none) or one signed with its id
    try:
        post: Post = await call.plugin.async_api.get_post(post_id)
    except (NotFoundError, ValidationError):
        raise Refused(403, f"no post {post_id!r}") from None
    if post.user_id != payload.get("au") or post.channel_id != payload.get("ch"):
        raise Refused(403, "the context was signed for a post of another author or channel")
    carried = any(
        action.get("id") == payload.get("i")
        and isinstance(action.get("integration"), dict)
        and isinstance(action["integration"].get("context"), dict)
        and action["integration"]["context"].get(CONTEXT_TOKEN) == token
        for action in actions_of(post.props)
    )
    if not carried:
        raise Refused(403, "the post does not carry this action")
    return post


def _action_answer(
    result: Any, request: ActionRequest[Any], payload: dict[str, Any], plugin_id: str, key: bytes
) -> dict[str, Any]:
    from mattermost_plugin.interactive._wire import PostActionIntegrationResponse

    if result is None:
        return {}
    if isinstance(result, str):
        return {"ephemeral_text": result}
    if isinstance(result, dict):
        checked = PostActionIntegrationResponse.model_validate(result)
        return checked.model_dump(mode="json", exclude_defaults=True)
    if not isinstance(result, ActionResponse):
        raise TypeError(
            f"returned {type(result).__name__}; return an ActionResponse, a str (ephemeral "
            "text) or None"
        )
    update = result.update
    post = request.post
    if update is not None and post is not None:
        # The server's update takes the pinned state and the files from the answer too (as
        # far as we can tell): keep the stored post's unless the handler set them.
        kept = {
            name: getattr(post, name)
            for name in ("is_pinned", "file_ids")
            if name not in update.model_fields_set
        }
        update = update.model_copy(update=kept, deep=True)
    if result.attachments is not None:
        if update is None:
            if request.post is None:
                raise TypeError(
                    "ActionResponse(attachments=...) for an ephemeral post needs update=Post(...)"
                    ": the server keeps no copy of it to start from"
                )
            update = request.post.model_copy(deep=True)
        else:
            update = update.model_copy(deep=True)
        if payload.get("po"):
            binding = Binding(request.channel_id, post_id=request.post_id)
        else:
            author = request.post.user_id if request.post is not None else ""
            binding = Binding(request.channel_id, author=author)
        update.props = {
            **update.props,
            "attachments": render_attachments(
                result.attachments, plugin_id=plugin_id, key=key, binding=binding
            ),
        }
    answer = PostActionIntegrationResponse(
        update=update,
        ephemeral_text=result.ephemeral_text,
        goto_location=result.goto_location,
        skip_slack_parsing=result.skip_slack_parsing,
    )
    return answer.model_dump(mode="json", exclude_defaults=True)


# -- dialogs ----------------------------------------------------------------------------------


async def _dialog(call: HookCall, handler: Handler, user_id: str, raw: bytes) -> dict[str, Any]:
    from mattermost_plugin.interactive._wire import SubmitDialogRequest

    try:
        body = SubmitDialogRequest.model_validate_json(raw or b"{}")
    except PydanticValidationError:
        raise Refused(400, "the body is not a SubmitDialogRequest") from None
    key = await interactions_of(call.plugin).key_async()
    try:
        payload = verify(key, body.state)
    except InvalidToken as exc:
        raise Refused(403, f"the state is not signed by this plugin ({exc})") from None
    name = handler.info.name
    if payload.get("t") != "dialog" or payload.get("p") != call.plugin_id:
        raise Refused(403, "the state was signed for another plugin or purpose")
    if payload.get("d") != name or body.callback_id != name:
        raise Refused(403, f"the state was signed for the dialog {payload.get('d')!r}")
    if payload.get("u") and payload["u"] != user_id:
        raise Refused(403, "the dialog was opened for another user")
    if body.cancelled and not payload.get("n"):
        return {}  # a dialog that asked for no cancel notification: nothing to do
    spec = payload.get("e")
    if not isinstance(spec, list) or not all(_is_element(entry) for entry in spec):
        raise Refused(403, "the state's elements are malformed")
    values: dict[str, Any] = {}
    data: Any = None
    if not body.cancelled:
        values, errors = parse_submission(spec, body.submission)
        if errors:
            return {"errors": errors}
        if handler.adapter is not None:
            try:
                data = handler.adapter.validate_python(values)
            except PydanticValidationError as exc:
                return _validation_answer(exc, {entry[0] for entry in spec})
    submission: DialogSubmission[Any] = DialogSubmission(
        user_id=user_id,
        dialog=name,
        values=values,
        data=data,
        state=payload.get("s"),
        cancelled=body.cancelled,
        channel_id=body.channel_id,
        team_id=body.team_id,
    )
    try:
        result = await call.run(getattr(call.plugin, handler.attr), submission)
        return _dialog_answer(result)
    except Exception as exc:
        _failed(call, handler, exc)
        return {"error": DIALOG_FAILED}


def _is_element(entry: object) -> bool:
    """An entry of the signed element spec: ``[name, kind, optional, min, max, choices]``."""
    return (
        isinstance(entry, list)
        and len(entry) == 6
        and isinstance(entry[0], str)
        and isinstance(entry[1], str)
        and isinstance(entry[3], int)
        and isinstance(entry[4], int)
        and (entry[5] is None or isinstance(entry[5], list))
    )


def _validation_answer(exc: PydanticValidationError, names: set[str]) -> dict[str, Any]:
    """Pydantic's errors as field errors (and a general one for what names no field)."""
    from mattermost_plugin.interactive._wire import SubmitDialogResponse

    errors: dict[str, str] = {}
    general: list[str] = []
    for error in exc.errors(include_url=False):
        location = error.get("loc", ())
        field = location[0] if location else None
        # A validator's ValueError reads better without pydantic's "Value error, " prefix.
        cause = error.get("ctx", {}).get("error") if error["type"] == "value_error" else None
        message = str(cause) if cause is not None else error["msg"]
        if isinstance(field, str) and field in names:
            errors.setdefault(field, message)
        else:
            where = ".".join(str(part) for part in location)
            general.append(f"{where}: {message}" if where else message)
    answer = SubmitDialogResponse(errors=errors, error="; ".join(general))
    return answer.model_dump(mode="json", exclude_defaults=True)


def _dialog_answer(result: Any) -> dict[str, Any]:
    from mattermost_plugin.interactive._wire import SubmitDialogResponse

    if result is None:
        return {}
    if isinstance(result, DialogResponse):
        answer = SubmitDialogResponse(errors=result.errors, error=result.error)
    elif isinstance(result, str):
        answer = SubmitDialogResponse(error=result)
    elif isinstance(result, dict):
        answer = SubmitDialogResponse(errors=result)
    else:
        raise TypeError(
            f"returned {type(result).__name__}; return None (close the dialog), a "
            "DialogResponse, a dict of field errors or a str"
        )
    return answer.model_dump(mode="json", exclude_defaults=True)


_LISTENERS = (
    Listener("OnActivate", _activate, Order.INTERACTIVE, "interactive"),
    Listener("ServeHTTP", _serve, Order.INTERACTIVE, "interactive"),
)


def listeners_for(owner: type[Plugin]) -> tuple[Listener, ...]:
    """What an ``@action`` or ``@dialog`` method contributes to its class's chain (checked
    now: clashing names and signatures that cannot be handlers fail the class definition)."""
    table_for(owner)
    return _LISTENERS
