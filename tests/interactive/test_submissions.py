"""Reading a dialog submission against its elements (``parse_submission``): whatever a
client sends, every element gets a value or an error, never an exception; values of the
declared kind come back typed. Property tests (hypothesis) and the webapp's messages."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mattermost_plugin.interactive import (
    BoolElement,
    Dialog,
    Option,
    RadioElement,
    SelectElement,
    TextareaElement,
    TextElement,
)
from mattermost_plugin.interactive._dialogs import REQUIRED, parse_submission

ELEMENTS = [
    TextElement("title", "Title", min_length=2, max_length=10),
    TextElement("mail", "Mail", subtype="email", optional=True),
    TextElement("count", "Count", subtype="number"),
    TextElement("site", "Site", subtype="url", optional=True),
    TextareaElement("notes", "Notes", optional=True, max_length=50),
    SelectElement("size", "Size", options=[Option("Small", "s"), "m"]),
    SelectElement("who", "Who", data_source="users", optional=True),
    RadioElement("mood", "Mood", options=["up", "down"], optional=True),
    BoolElement("agree", "Agree", optional=False),
    BoolElement("extra", "Extra"),
]
SPEC = Dialog("form", title="Form", elements=ELEMENTS).spec()
NAMES = [element.name for element in ELEMENTS]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=60),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@given(st.dictionaries(st.sampled_from([*NAMES, "unknown", ""]), json_values))
def test_any_submission_gives_a_value_or_an_error_for_every_element(
    submission: dict[str, Any],
) -> None:
    values, errors = parse_submission(SPEC, submission)
    assert list(values) == NAMES  # unknown keys dropped, every element present
    assert set(errors) <= set(NAMES)
    for name, message in errors.items():
        assert isinstance(message, str) and message
        assert values[name] in (None, False)
    for name, value in values.items():
        if name in errors or value is None:
            continue
        kind = {entry[0]: entry[1] for entry in SPEC}[name]
        if kind == "number":
            assert isinstance(value, int | float) and not isinstance(value, bool)
            assert math.isfinite(value)
        elif kind == "bool":
            assert isinstance(value, bool)
        else:
            assert isinstance(value, str)


valid = st.fixed_dictionaries(
    {
        "title": st.text(min_size=2, max_size=10).filter(lambda s: s != ""),
        "count": st.integers() | st.floats(allow_nan=False, allow_infinity=False),
        "size": st.sampled_from(["s", "m"]),
        "agree": st.just(True),
    },
    optional={
        "mail": st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.org", fullmatch=True),
        "site": st.from_regex(r"https?://[a-z]{1,10}\.org", fullmatch=True),
        "notes": st.text(max_size=50),
        "who": st.from_regex(r"[a-z0-9]{26}", fullmatch=True),
        "mood": st.sampled_from(["up", "down"]),
        "extra": st.booleans(),
    },
)


@given(valid)
def test_valid_submissions_come_back_typed(submission: dict[str, Any]) -> None:
    values, errors = parse_submission(SPEC, submission)
    assert errors == {}
    for name, raw in submission.items():
        if raw == "":
            assert values[name] is None
        elif name == "count" and isinstance(raw, float) and raw.is_integer():
            assert values[name] == int(raw) and isinstance(values[name], int)
        else:
            assert values[name] == raw
    assert values["extra"] is submission.get("extra", False)


@given(st.text(max_size=12))
def test_numbers_typed_as_text_are_read(text: str) -> None:
    values, errors = parse_submission(SPEC, {"count": text})
    if "count" in errors:
        assert errors["count"] in (REQUIRED, "Must be a number.")
    else:
        assert float(text) == values["count"]


@pytest.mark.parametrize(
    ("submission", "errors"),
    [
        ({}, {"title": REQUIRED, "count": REQUIRED, "size": REQUIRED, "agree": REQUIRED}),
        ({"title": "x"}, {"title": "Must be at least 2 characters."}),
        ({"title": "x" * 11}, {"title": "Must be at most 10 characters."}),
        ({"title": 5}, {"title": "Must be text."}),
        ({"mail": "nope"}, {"mail": "Must be a valid email address."}),
        ({"site": "example.org"}, {"site": "URL must include http:// or https://."}),
        ({"count": "1e999"}, {"count": "Must be a number."}),
        ({"count": True}, {"count": "Must be a number."}),
        ({"size": "xl"}, {"size": "Must be one of the choices."}),
        ({"who": "not-an-id"}, {"who": "Must be one of the users."}),
        ({"agree": False}, {"agree": REQUIRED}),
        ({"agree": "yes"}, {"agree": "Must be true or false."}),
    ],
)
def test_the_webapps_messages(submission: dict[str, Any], errors: dict[str, str]) -> None:
    base = {"title": "ok", "count": 1, "size": "s", "agree": True}
    if submission == {}:
        base = {}
    found = parse_submission(SPEC, {**base, **submission})[1]
    assert found == errors


def test_strings_of_booleans_and_numbers_are_read() -> None:
    values, errors = parse_submission(
        SPEC, {"title": "ok", "count": " 42 ", "size": "m", "agree": "true", "extra": "false"}
    )
    assert errors == {}
    assert values["count"] == 42 and values["agree"] is True and values["extra"] is False
