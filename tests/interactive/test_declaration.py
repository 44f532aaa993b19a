"""``@action`` / ``@dialog`` and the builders: mistakes fail when the class or the object is
made, naming what is wrong; signing and rendering in process (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from mattermost_plugin import ActionRequest, DialogSubmission, Plugin, action, dialog
from mattermost_plugin.interactive import (
    Attachment,
    AttachmentField,
    BoolElement,
    Button,
    Dialog,
    Option,
    RadioElement,
    Select,
    SelectElement,
    TextElement,
)
from mattermost_plugin.interactive._signing import InvalidToken, sign, verify
from mattermost_plugin.models import Post

KEY = bytes(range(32))


class Ref(BaseModel):
    id: int


def test_handlers_contribute_listeners_and_hooks() -> None:
    class Board(Plugin):
        @action("vote")
        def vote(self, request: ActionRequest[Ref]) -> str:
            return str(request.context.id)

        @dialog("poll")
        async def poll(self, submission: DialogSubmission) -> None:
            return None

    assert [(listener.hook, listener.name) for listener in Board.listeners()] == [
        ("OnActivate", "interactive"),
        ("ServeHTTP", "interactive"),
    ]
    assert Board.implemented_hooks() == ["OnActivate", "ServeHTTP"]
    # The methods stay plain methods.
    request = ActionRequest(
        user_id="u", post_id="p", channel_id="c", context=Ref(id=3), action="vote"
    )
    assert Board().vote(request) == "3"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "@action('vote')\n    def a(self, r): ...\n"
            "    @action('vote')\n    def b(self, r): ...",
            "@action 'vote' is already handled by a",
        ),
        (
            "@action('vote')\n    def a(self): ...",
            "define it as (self, request: ActionRequest[...])",
        ),
        ("@action('vote')\n    def a(self, r, extra): ...", "receives one ActionRequest"),
        ("@action('vote')\n    def a(self, *r): ...", "define it as"),
        (
            "@action('vote')\n    def a(self, r: int): ...",
            "annotate it ActionRequest or ActionRequest[YourModel]",
        ),
        ("@dialog('d')\n    def a(self, r: ActionRequest): ...", "annotate it DialogSubmission"),
        (
            "@action('vote')\n    def on_deactivate(self): ...",
            "on_deactivate is the name of the OnDeactivate hook",
        ),
        (
            "@action('vote')\n    def a(self, r: ActionRequest[object()]): ...",
            "cannot validate into",
        ),
    ],
)
def test_bad_handlers_fail_the_class_definition(source: str, message: str) -> None:
    code = f"class Broken(Plugin):\n    {source}\n"
    namespace: dict[str, Any] = {
        "Plugin": Plugin,
        "action": action,
        "dialog": dialog,
        "ActionRequest": ActionRequest,
    }
    with pytest.raises(TypeError) as raised:
        exec(code, namespace)
    assert message in str(raised.value)


def test_names_are_checked_when_decorating() -> None:
    with pytest.raises(ValueError, match="use 1-64 letters, digits"):
        action("a/b")
    with pytest.raises(ValueError, match="dialog name ''"):
        dialog("")


def test_a_method_handles_one_action() -> None:
    with pytest.raises(TypeError, match="is already the handler of"):

        @action("a")
        @action("b")
        def both(self: Any, request: ActionRequest) -> None: ...


def test_an_annotation_defined_later_is_checked_on_activation() -> None:
    class Later(Plugin):
        @action("later")
        def later(self, request: ActionRequest[NotYet]) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    from mattermost_plugin.interactive._routing import table_for

    with pytest.raises(NameError, match="cannot read the annotation"):
        table_for(Later).ready()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Select("Pick", action="a"), "needs options or a data_source"),
        (lambda: Select("Pick", action="a", options=["x"], data_source="users"), "not both"),
        (lambda: Select("Pick", action="a", data_source="teams"), "data_source must be"),  # type: ignore[arg-type]
        (lambda: Button("Go", action="a", id="no-dashes"), "use 1-64 letters and digits"),
        (lambda: Button("Go", action="a", context=object()), "must be JSON data"),
        (lambda: Attachment(actions=["x"]), "expected Button or Select"),  # type: ignore[list-item]
        (lambda: TextElement("", "X"), "needs a name"),
        (lambda: TextElement("x", ""), "needs a display_name"),
        (lambda: TextElement("x", "X", subtype="date"), "subtype must be one of"),  # type: ignore[arg-type]
        (lambda: TextElement("x", "X", min_length=5, max_length=2), "allow no length"),
        (lambda: SelectElement("x", "X"), "needs options or a data_source"),
        (lambda: RadioElement("x", "X", options=[]), "needs options"),
        (
            lambda: RadioElement("x", "X", options=["a", Option("A", "a")]),
            "two options with one value",
        ),
        (lambda: Dialog("d", title=""), "needs a title"),
        (
            lambda: Dialog("d", title="T", elements=[BoolElement("x", "X"), BoolElement("x", "Y")]),
            "two elements with one name",
        ),
        (lambda: Dialog("d", title="T", state=object()), "must be JSON data"),
    ],
)
def test_builders_refuse_what_the_server_cannot_show(build: Any, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        build()


def test_rendering_a_post_needs_its_channel_and_author() -> None:
    plugin = Plugin()
    plugin.interactive.use_key(KEY, "com.example.x")
    buttons = [Attachment(actions=[Button("Go", action="go")])]
    with pytest.raises(ValueError, match="needs its channel_id"):
        plugin.interactive.with_attachments(Post(user_id="u"), buttons)
    with pytest.raises(ValueError, match="needs its user_id"):
        plugin.interactive.with_attachments(Post(channel_id="c"), buttons)
    ephemeral = plugin.interactive.with_attachments(Post(channel_id="c"), buttons, ephemeral=True)
    assert len(ephemeral.id) == 26
    two = [
        Attachment(
            actions=[Button("A", action="go", id="same"), Button("B", action="go", id="same")]
        )
    ]
    with pytest.raises(ValueError, match="two actions of one post have the id 'same'"):
        plugin.interactive.with_attachments(Post(channel_id="c", user_id="u"), two)


def test_rendered_attachments_keep_every_field() -> None:
    plugin = Plugin()
    plugin.interactive.use_key(KEY, "com.example.x")
    attachment = Attachment(
        text="t",
        title="T",
        color="#ff0000",
        fields=[AttachmentField("Due", "today", short=True)],
        footer="f",
        actions=[
            Button("Go", action="go", id="go1", style="danger", context=Ref(id=1)),
            Select("Who", action="pick", data_source="users", default="x", disabled=True),
        ],
    )
    post = Post(channel_id="c", user_id="u", message="m", props={"keep": 1})
    rendered = plugin.interactive.with_attachments(post, [attachment])
    assert post.props == {"keep": 1}  # the given post is not changed
    assert rendered.props["keep"] == 1
    (data,) = rendered.props["attachments"]
    assert {k: data[k] for k in ("text", "title", "color", "footer")} == {
        "text": "t",
        "title": "T",
        "color": "#ff0000",
        "footer": "f",
    }
    assert data["fields"] == [{"title": "Due", "value": "today", "short": True}]
    go, who = data["actions"]
    assert (go["id"], go["name"], go["type"], go["style"]) == ("go1", "Go", "button", "danger")
    assert who["data_source"] == "users" and who["default_option"] == "x" and who["disabled"]
    payload = verify(KEY, go["integration"]["context"]["_sdk_token"])
    assert payload == {
        "t": "action",
        "p": "com.example.x",
        "a": "go",
        "i": "go1",
        "ch": "c",
        "po": "",
        "au": "u",
        "c": {"id": 1},
    }


def test_a_dialog_request_carries_the_elements_and_a_signed_state() -> None:
    plugin = Plugin()
    plugin.interactive.use_key(KEY, "com.example.x")
    request = plugin.interactive.dialog_request(
        "trigger",
        Dialog(
            "poll", title="Poll", elements=[BoolElement("b", "B", default=True)], state=Ref(id=2)
        ),
    )
    assert request.trigger_id == "trigger"
    assert request.url == "/plugins/com.example.x/_sdk/dialogs/poll"
    assert request.dialog is not None and request.dialog.callback_id == "poll"
    assert request.dialog.elements[0].default == "true"
    payload = verify(KEY, request.dialog.state)
    assert payload["s"] == {"id": 2} and payload["u"] == "" and payload["d"] == "poll"
    with pytest.raises(ValueError, match="needs a trigger id"):
        plugin.interactive.dialog_request("", Dialog("poll", title="Poll"))


@given(payload=st.dictionaries(st.text(max_size=5), st.text() | st.integers() | st.none()))
def test_tokens_round_trip(payload: dict[str, Any]) -> None:
    assert verify(KEY, sign(KEY, payload)) == payload
    with pytest.raises(InvalidToken):
        verify(bytes(32), sign(KEY, payload))
