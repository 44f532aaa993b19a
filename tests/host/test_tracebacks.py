"""Readable tracebacks (host/_tracebacks.py): the plugin's frames and its line first, the SDK
folded, nothing lost."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mattermost_plugin.host._tracebacks import (
    readable_traceback,
    split_stacktrace,
    traceback_origin,
)

PLUGIN = Path("/home/ada/greeter")
SDK = "/home/ada/greeter/.venv/lib/python3.12/site-packages/mattermost_plugin"
STDLIB = "/usr/lib/python3.12"
LIBRARY = "/home/ada/greeter/.venv/lib/python3.12/site-packages/requests"


def frame(file: str, line: int, function: str, code: str = "pass") -> str:
    return f'  File "{file}", line {line}, in {function}\n    {code}\n'


HANDLER_FAILS = (
    "Traceback (most recent call last):\n"
    + frame(f"{SDK}/_dispatch.py", 381, "_answer", "result = await self.invoke()")
    + frame(f"{SDK}/_dispatch.py", 492, "run_handler", "return await future")
    + frame(f"{STDLIB}/concurrent/futures/thread.py", 58, "run", "result = self.fn()")
    + frame(f"{PLUGIN}/server/plugin.py", 11, "message_will_be_posted", "parse(post)")
    + "    ^^^^^^^^^^^\n"
    + frame(f"{PLUGIN}/server/plugin.py", 6, "parse", "return fetch(text)")
    + frame(f"{LIBRARY}/api.py", 73, "get", "return request('get', url)")
    + frame(f"{SDK}/client.py", 12, "call", "raise NotFoundError(text)")
    + "mattermost_plugin.errors.NotFoundError: no such user\n"
)


def test_plugin_frames_first_and_sdk_frames_folded() -> None:
    shown = readable_traceback(HANDLER_FAILS, plugin_dir=PLUGIN, relative_to=PLUGIN)
    assert shown.splitlines() == [
        "server/plugin.py:6 in parse: mattermost_plugin.errors.NotFoundError: no such user",
        "Traceback (most recent call last):",
        # The machinery that called the handler: the SDK and the standard library.
        "  [3 SDK and library frames hidden; -v shows them]",
        f'  File "{PLUGIN}/server/plugin.py", line 11, in message_will_be_posted',
        "    parse(post)",
        "    ^^^^^^^^^^^",
        f'  File "{PLUGIN}/server/plugin.py", line 6, in parse',
        "    return fetch(text)",
        # A library the plugin called is shown; the SDK inside it is folded.
        f'  File "{LIBRARY}/api.py", line 73, in get',
        "    return request('get', url)",
        "  [1 SDK frame hidden; -v shows them]",
        "mattermost_plugin.errors.NotFoundError: no such user",
    ]
    assert traceback_origin(HANDLER_FAILS, plugin_dir=PLUGIN, relative_to=PLUGIN) == (
        "server/plugin.py:6 in parse"
    )


def test_verbose_shows_every_frame() -> None:
    shown = readable_traceback(HANDLER_FAILS, plugin_dir=PLUGIN, verbose=True, hint="x")
    origin, *rest = shown.splitlines()
    assert origin.startswith(f"{PLUGIN}/server/plugin.py:6 in parse: ")  # outside the cwd
    assert rest == HANDLER_FAILS.splitlines()


def test_without_a_plugin_folder_installed_code_is_not_the_plugins() -> None:
    shown = readable_traceback(HANDLER_FAILS, relative_to=PLUGIN)
    assert shown.splitlines()[0].startswith("server/plugin.py:6 in parse: ")
    assert "[3 SDK and library frames hidden; -v shows them]" in shown


def test_chained_exceptions_keep_their_sections() -> None:
    def fails() -> None:
        try:
            {}["missing"]
        except KeyError as exc:
            raise ValueError("first line\n\nsecond line") from exc

    try:
        fails()
    except ValueError as exc:
        text = "".join(traceback.format_exception(exc))
    here = Path(__file__).parent
    shown = readable_traceback(text, plugin_dir=here, relative_to=here)
    lines = shown.splitlines()
    assert re.fullmatch(r"test_tracebacks\.py:\d+ in fails: ValueError: first line", lines[0])
    assert shown.endswith("\n".join(text.splitlines()[-3:]))  # the message, whole
    assert "KeyError: 'missing'" in lines
    assert "The above exception was the direct cause of the following exception:" in lines
    assert lines.count("Traceback (most recent call last):") == 2


def test_a_failure_inside_the_sdk_shows_everything() -> None:
    text = (
        "Traceback (most recent call last):\n"
        + frame(f"{SDK}/_dispatch.py", 381, "_answer")
        + frame(f"{SDK}/_dispatch.py", 700, "_adapt_value")
        + "TypeError: answer: expected a dict, got str\n"
    )
    shown = readable_traceback(text, plugin_dir=PLUGIN)
    assert shown.splitlines()[1:] == text.splitlines()
    assert "hidden" not in shown


def test_syntax_error_details_stay_with_the_exception() -> None:
    text = (
        "Traceback (most recent call last):\n"
        + frame(f"{SDK}/_dispatch.py", 381, "_answer")
        + frame(f"{PLUGIN}/server/plugin.py", 3, "on_activate", "compile(source)")
        + '  File "<string>", line 1\n'
        + "    def (\n"
        + "        ^\n"
        + "SyntaxError: invalid syntax\n"
    )
    shown = readable_traceback(text, plugin_dir=PLUGIN, relative_to=PLUGIN).splitlines()
    assert shown[0] == "server/plugin.py:3 in on_activate: SyntaxError: invalid syntax"
    assert shown[-4:] == ['  File "<string>", line 1', "    def (", "        ^", shown[-1]]


def test_what_is_no_traceback_is_left_as_it_is() -> None:
    for text in (
        "",
        "plain words",
        "Stack (most recent call last):\n" + frame(f"{PLUGIN}/server/plugin.py", 1, "f"),
        "  + Exception Group Traceback (most recent call last):\n  | ValueError: x",
        "Traceback (most recent call last):\n" + frame(f"{PLUGIN}/p.py", 1, "f"),  # cut off
    ):
        assert readable_traceback(text, plugin_dir=PLUGIN) == text
        assert traceback_origin(text, plugin_dir=PLUGIN) is None


def test_split_stacktrace_takes_the_error_along() -> None:
    fields = {"hook": "OnActivate", "error": "ValueError: x", "stacktrace": "Traceback ..."}
    assert split_stacktrace(fields) == ({"hook": "OnActivate"}, "Traceback ...")
    assert split_stacktrace({"error": "no trace", "stacktrace": 3}) == (
        {"error": "no trace", "stacktrace": 3},
        None,
    )


_KINDS = {"plugin": f"{PLUGIN}/server", "sdk": SDK, "library": f"{STDLIB}/asyncio"}


@given(
    st.lists(
        st.lists(st.sampled_from(sorted(_KINDS)), min_size=1, max_size=8), min_size=1, max_size=3
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
)
def test_folding_never_loses_a_plugin_frame_or_the_exception(
    chain: list[list[str]], message: str
) -> None:
    sections = []
    for number, kinds in enumerate(chain):
        frames = "".join(
            frame(f"{_KINDS[kind]}/m{index}.py", index + 1, f"f{number}_{index}")
            for index, kind in enumerate(kinds)
        )
        sections.append(
            f"Traceback (most recent call last):\n{frames}RuntimeError: {number} {message}\n"
        )
    text = "\nDuring handling of the above exception, another exception occurred:\n\n".join(
        sections
    )
    full = readable_traceback(text, plugin_dir=PLUGIN, verbose=True).splitlines()
    assert full[1:] == text.splitlines()  # verbose: all of it, after the origin line
    folded = readable_traceback(text, plugin_dir=PLUGIN).splitlines()
    hidden = sum(int(m[1]) for line in folded if (m := re.match(r"  \[(\d+) ", line)))
    shown_frames = [line for line in folded if line.startswith('  File "')]
    all_frames = [line for line in text.splitlines() if line.startswith('  File "')]
    assert len(shown_frames) + hidden == len(all_frames)
    plugin_frames = [line for line in all_frames if f'"{PLUGIN}/server/' in line]
    assert [line for line in shown_frames if f'"{PLUGIN}/server/' in line] == plugin_frames
    if not plugin_frames:
        assert hidden == 0
    assert folded[-1] == text.splitlines()[-1]
