"""``@command`` in a real plugin subprocess, through LocalMattermost and the pytest plugin:
registration, routing, every argument type, help and usage answers (tests/commands/plugins)."""

from __future__ import annotations

import pytest

from mattermost_plugin.testing import CommandError, LocalMattermost

pytestmark = pytest.mark.mattermost_plugin("plugins/todo", hook_timeout=5.0)


def run(mattermost: LocalMattermost, line: str) -> str:
    return mattermost.execute_command(line).text


def test_commands_are_registered_on_activation(mattermost: LocalMattermost) -> None:
    hooks = [h for h in mattermost.supervisor.implemented if h != "Implemented"]
    assert hooks == ["OnActivate", "ExecuteCommand"]  # no handler of its own: listeners only
    commands = {c.trigger: c for c in mattermost.api.list_plugin_commands(mattermost.team.id)}
    assert sorted(commands) == ["echo", "todo"]
    echo, todo = commands["echo"], commands["todo"]
    assert echo.auto_complete and todo.auto_complete
    assert echo.auto_complete_desc == "Repeat a word (quote it to keep its spaces)."
    assert echo.auto_complete_hint == "<word> [times] [--shout]"
    assert todo.auto_complete_hint == ("[add|list|done|assign|share|estimate|where|broken|help]")
    assert todo.description.startswith("Subcommands: add, list, done")


def test_add_list_done(mattermost: LocalMattermost) -> None:
    assert run(mattermost, "/todo add buy milk") == "Added #1: buy milk (normal)"
    assert run(mattermost, "/todo add --priority HIGH call 'mum'") == (
        "Added #2: call 'mum' (high)"
    )
    assert run(mattermost, "/todo done 1") == "Done: #1"
    assert run(mattermost, "/todo list") == "2. call 'mum'"
    assert run(mattermost, "/TODO LIST --all") == "1. ~~buy milk~~\n2. call 'mum'"
    # The answers were ephemeral: only the user saw them.
    assert mattermost.posts() == []
    assert mattermost.ephemeral_posts(mattermost.user)[-1].message.startswith("1. ~~buy")


def test_numbers_choices_and_defaults(mattermost: LocalMattermost) -> None:
    run(mattermost, "/todo add paint the fence")
    assert run(mattermost, "/todo estimate 1 1.5") == "#1: 1.5 h"
    assert run(mattermost, "/todo estimate 1 2 d") == "#1: 16 h"
    assert run(mattermost, "/todo estimate 1 --unit=d 0.5") == "#1: 4 h"
    answer = run(mattermost, "/todo estimate 1 2 weeks")
    assert answer.startswith('Invalid unit: expected one of h, d, got "weeks".\nUsage: ')
    answer = run(mattermost, "/todo estimate one 2")
    assert answer.startswith('Invalid item: expected a whole number, got "one".')
    answer = run(mattermost, "/todo estimate 1 nan")
    assert answer.startswith('Invalid amount: expected a number, got "nan".')
    assert run(mattermost, "/todo done 7").startswith("There is no item #7.\nUsage: ")


def test_mentions_resolve_to_models(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    run(mattermost, "/todo add review the plan")
    assert run(mattermost, "/todo assign 1 @alice") == "#1 is now @alice's"
    assert run(mattermost, "/todo assign 1 alice") == "#1 is now @alice's"
    assert run(mattermost, f"/todo assign 1 {alice.id}") == "#1 is now @alice's"
    answer = run(mattermost, "/todo assign 1 @nobody")
    assert answer.startswith("Invalid assignee: no user @nobody.\nUsage: `/todo assign")

    shared = mattermost.execute_command("/todo share 1 ~off-topic")
    assert shared.response_type == "in_channel"
    off_topic = mattermost.resolve_channel("off-topic")
    assert [p.message for p in mattermost.posts(off_topic)] == ["To do: review the plan"]
    answer = run(mattermost, "/todo share 1 ~nowhere")
    assert answer.startswith("Invalid channel: no channel ~nowhere in this team.")


def test_help_and_usage(mattermost: LocalMattermost) -> None:
    listing = run(mattermost, "/todo")
    assert listing == run(mattermost, "/todo help")
    lines = listing.splitlines()
    assert lines[0] == "**/todo** commands:"
    assert "- `/todo add [--priority <priority>] <title...>`: Add an item to your list." in lines
    assert "- `/todo assign <item> <assignee>`: Give an item to someone." in lines
    assert lines[-1] == "- `/todo help [command]`: describe a command"

    detail = run(mattermost, "/todo help estimate").splitlines()
    assert detail == [
        "`/todo estimate <item> <amount> [unit]`",
        "Say how long an item takes.",
        "",
        "- `item`: a whole number",
        "- `amount`: how many units. (a number)",
        "- `unit`: hours or days. (one of h, d; default h)",
    ]
    assert run(mattermost, "/todo fly away").startswith("Unknown command /todo fly.\n\n**/todo**")
    assert run(mattermost, "/todo add").startswith("Missing title.\nUsage: `/todo add")
    assert run(mattermost, "/todo done 1 2").startswith('Unexpected argument "2".')
    assert run(mattermost, "/todo list --everything").startswith('Unknown option "--everything"')


def test_leaf_command_quotes_and_flags(mattermost: LocalMattermost) -> None:
    assert run(mattermost, '/echo "two words" 2') == "two words two words"
    assert run(mattermost, "/echo “smart quotes” --shout") == "SMART QUOTES"
    assert run(mattermost, "/echo hi 0") == ""  # None: an empty ephemeral answer
    answer = run(mattermost, '/echo "unclosed')
    assert answer.splitlines() == [
        'The quote " before unclosed is never closed.',
        "Usage: `/echo <word> [times] [--shout]`",
        "- `word`: text",
        "- `times`: a whole number; default 1",
        "- `--shout`: yes or no",
    ]


def test_invocation_is_injected_by_type(mattermost: LocalMattermost) -> None:
    channel = mattermost.channel
    answer = run(mattermost, "/todo where")
    assert answer == f"user={mattermost.user.id} channel={channel.id} request=True"


def test_a_failing_handler_answers_in_words_and_is_logged(mattermost: LocalMattermost) -> None:
    answer = run(mattermost, "/todo broken")
    assert answer == "/todo failed: an error occurred in the plugin. It has been logged."
    record = mattermost.wait_for_log(lambda r: "the handler broke" in r.message, level="error")
    assert "/todo broken (TodoPlugin.broken)" in record.message
    assert run(mattermost, "/echo still-alive") == "still-alive"


def test_unknown_triggers_are_not_found(mattermost: LocalMattermost) -> None:
    with pytest.raises(CommandError) as missing:
        mattermost.execute_command("/nothing here")
    assert missing.value.status_code == 404


def test_commands_survive_a_reload(mattermost: LocalMattermost) -> None:
    run(mattermost, "/todo add keep me")
    assert mattermost.reload()
    assert run(mattermost, "/todo list") == "1. keep me"
    triggers = sorted(c.trigger for c in mattermost.api.list_plugin_commands(mattermost.team.id))
    assert triggers == ["echo", "todo"]
