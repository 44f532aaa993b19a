"""The playground in a real browser: what a plugin does shows as Mattermost would show it.

``censor`` rejects and rewrites posts, answers ``/shout`` in the channel and puts a menu on
a post (``/pick``); ``examples/todo`` answers with ephemeral posts, Done buttons and a
dialog. Screenshots of the main views go to ``test-artifacts/playground/``.
"""

from __future__ import annotations

import datetime
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from tests.playground.conftest import CENSOR, Playground, playground_server, screenshot
from tests.support.dev import REPO

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

DOCS_SCREENSHOT = REPO / "docs" / "images" / "playground.png"
UPDATE_DOCS_SCREENSHOT = "MATTERMOST_PLUGIN_UPDATE_DOCS_SCREENSHOT"


def send(page: Page, text: str) -> None:
    box = page.locator("#message-box")
    box.fill(text)
    box.press("Enter")


def post_with(page: Page, text: str, within: str = "#posts") -> Locator:
    """The post showing ``text`` (waits for it)."""
    found = page.locator(f"{within} .post").filter(has_text=text)
    found.first.wait_for()
    return found.first


def test_a_rejected_post_shows_the_plugins_reason(
    page: Page, censor_playground: Playground
) -> None:
    censor_playground.open(page)
    send(page, "what a badword")
    post = post_with(page, "what a badword")
    outcome = post.locator(".post-outcome.rejected")
    assert outcome.inner_text() == "Rejected by the plugin: mind your language"
    # Nobody else sees it: the server stored nothing.
    posts = censor_playground.http.get("/api/v4/channels/town-square/posts").json()["posts"]
    assert not any("badword" in p["message"] for p in posts.values())
    screenshot(page, "rejected")


def test_a_modified_post_shows_the_modified_text(page: Page, censor_playground: Playground) -> None:
    censor_playground.open(page)
    send(page, "darn the weather")
    post = post_with(page, "d**n the weather")
    assert post.locator(".post-message").inner_text() == "d**n the weather"
    note = post.locator(".post-outcome.modified")
    assert "Modified by the plugin" in note.inner_text()
    assert note.locator(".original").inner_text() == "darn the weather"


def test_a_slash_command_answer_appears(page: Page, censor_playground: Playground) -> None:
    censor_playground.open(page)
    box = page.locator("#message-box")
    box.fill("/sh")
    suggestion = page.locator("#suggestions .suggestion")
    assert suggestion.count() == 1
    assert suggestion.inner_text().split() == [
        "/shout",
        "[text]",
        "Say",
        "it",
        "louder,",
        "in",
        "the",
        "channel",
    ]
    box.press("ArrowDown")
    assert suggestion.get_attribute("aria-selected") == "true"
    box.press("Tab")
    assert box.input_value() == "/shout "
    box.press_sequentially("good morning")
    box.press("Enter")
    post_with(page, "GOOD MORNING!")
    assert box.input_value() == ""


def test_an_unknown_command_says_so(page: Page, censor_playground: Playground) -> None:
    censor_playground.open(page)
    send(page, "/nosuch thing")
    outcome = post_with(page, "/nosuch thing").locator(".post-outcome.failed")
    assert "not found" in outcome.inner_text()


def test_a_menu_choice_updates_its_post(page: Page, censor_playground: Playground) -> None:
    censor_playground.open(page)
    send(page, "/pick")
    menu = post_with(page, "Pick a colour").locator("select.action-menu")
    menu.select_option("green")
    updated = post_with(page, "You picked green")
    assert updated.locator("select").count() == 0


def test_posts_of_others_arrive_live(page: Page, censor_playground: Playground) -> None:
    dora = censor_playground.user("dora")
    censor_playground.open(page)
    page.locator("#posts .post, #posts .empty").first.wait_for()
    answer = censor_playground.http.post(
        "/api/v4/posts",
        json={"channel_id": "town-square", "message": "hello from **dora**"},
        headers={"Mattermost-User-Id": dora["id"]},
    )
    assert answer.status_code == 201, answer.text
    post = post_with(page, "hello from dora")
    assert post.locator(".author").inner_text() == "dora"
    assert post.locator(".post-message strong").inner_text() == "dora"


def test_enter_sends_and_shift_enter_adds_a_line(page: Page, censor_playground: Playground) -> None:
    censor_playground.open(page)
    box = page.locator("#message-box")
    box.press_sequentially("first line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    assert box.input_value() == "first line\nsecond line"
    box.press("Enter")
    post = post_with(page, "second line")
    assert post.locator(".post-message").inner_text() == "first line\nsecond line"


def test_reactions_and_thread_replies(page: Page, censor_playground: Playground) -> None:
    censor_playground.open(page)
    send(page, "a thread starts here")
    root = post_with(page, "a thread starts here")
    root.hover()
    root.locator("button.react").click()
    page.locator(".picker button[title=':tada:']").click()
    reaction = root.locator(".reaction")
    reaction.wait_for()
    assert reaction.get_attribute("aria-pressed") == "true"
    assert reaction.inner_text().endswith("1")
    root.hover()
    root.locator("button.reply").click()
    reply = page.locator("#reply-box")
    reply.fill("and goes on here")
    reply.press("Enter")
    post_with(page, "and goes on here", within="#thread-posts")
    assert "reply to" in post_with(page, "and goes on here").inner_text()
    assert root.locator("button.replies").inner_text() == "1 reply"
    screenshot(page, "thread")
    reaction.click()  # a second click takes the reaction back
    root.locator(".reaction").wait_for(state="detached")


def test_acting_as_another_user(page: Page, censor_playground: Playground) -> None:
    censor_playground.user("carol")
    censor_playground.open(page, "?as=carol")
    assert page.locator("#acting-user option:checked").inner_text() == "@carol"
    send(page, "carol was here")
    assert post_with(page, "carol was here").locator(".author").inner_text() == "carol"
    # Leaving and joining a channel, as carol.
    page.locator("#channels .channel", has_text="Off-Topic").click()
    page.locator("#channel-name", has_text="Off-Topic").wait_for()
    page.locator("#leave-channel").click()
    page.locator("#channel-name", has_text="Town Square").wait_for()
    page.locator("#more-channels summary").click()
    page.locator("#joinable li", has_text="Off-Topic").get_by_role("button", name="Join").click()
    page.locator("#channel-name", has_text="Off-Topic").wait_for()
    members = censor_playground.http.get("/api/v4/channels/off-topic/members").json()
    carol = censor_playground.http.get("/api/v4/users/username/carol").json()
    assert carol["id"] in {m["user_id"] for m in members}
    # Back to admin with the switch.
    page.locator("#acting-user").select_option(label="@admin")
    page.wait_for_url("**/?as=admin")
    page.locator("#acting-user option:checked", has_text="@admin").wait_for(state="attached")


def test_teams_and_their_channels(page: Page, censor_playground: Playground) -> None:
    created = censor_playground.http.post(
        "/api/v4/teams", json={"name": "design", "display_name": "Design", "type": "O"}
    )
    assert created.status_code == 201, created.text
    censor_playground.open(page)
    page.locator("#teams .team[title='Design']").click()
    page.locator("#team-name", has_text="Design").wait_for()
    channels = page.locator("#channels .channel .label").all_inner_texts()
    assert channels == ["Off-Topic", "Town Square"]
    page.locator("#channel-name", has_text="Town Square").wait_for()
    send(page, "hello, designers")
    post = post_with(page, "hello, designers")
    team_square = censor_playground.http.get(
        f"/api/v4/teams/{created.json()['id']}/channels/name/town-square"
    ).json()
    assert page.locator("#playground").get_attribute("data-channel-id") == team_square["id"]
    assert post.is_visible()


def test_adding_a_user_from_the_page(page: Page, censor_playground: Playground) -> None:
    censor_playground.open(page)
    page.locator("#acting-user").select_option(label="Add a user…")
    page.locator("#new-user input").fill("erin")
    page.locator("#new-user input").press("Enter")
    page.wait_for_url("**/?as=erin")
    send(page, "erin says hi")
    assert post_with(page, "erin says hi").locator(".author").inner_text() == "erin"


def test_up_and_down_go_through_the_command_hints(page: Page, todo_playground: Playground) -> None:
    todo_playground.open(page)
    box = page.locator("#message-box")
    box.fill("/todo")
    options = page.locator("#suggestions .suggestion .trigger")
    assert options.all_inner_texts() == [
        "/todo",
        "/todo add",
        "/todo list",
        "/todo done",
        "/todo help",
    ]
    screenshot(page, "commands")
    for key in ("ArrowDown", "ArrowDown", "ArrowDown", "ArrowUp"):
        box.press(key)
    selected = page.locator("#suggestions [aria-selected='true'] .trigger")
    assert selected.inner_text() == "/todo add"
    assert box.get_attribute("aria-activedescendant") == "suggestion-1"
    box.press("Enter")  # completes the chosen one rather than sending
    assert box.input_value() == "/todo add "
    box.press_sequentially("call mum")
    # While the arguments are typed, the command stays on show with its hint.
    assert options.all_inner_texts() == ["/todo add"]
    box.press("ArrowDown")
    box.press("Enter")  # the command is complete: Enter sends it
    post_with(page, "Added #")
    assert box.input_value() == ""


def test_a_button_click_updates_its_post(page: Page, todo_playground: Playground) -> None:
    todo_playground.open(page)
    send(page, "/todo add water the plants")
    assert "only visible to you" in post_with(page, "Added #").inner_text().lower()
    send(page, "/todo list")
    listing = post_with(page, "open item(s)")
    assert "water the plants" in listing.inner_text()
    screenshot(page, "buttons")
    post_id = listing.get_attribute("data-post-id")
    item = listing.locator(".attachment").filter(has_text="water the plants")
    item.get_by_role("button", name="Done").click()
    # The same post, updated by the plugin's answer: that item is gone from it.
    updated = page.locator(f"#posts .post[data-post-id='{post_id}']")
    updated.filter(has_not_text="water the plants").wait_for()


def test_a_dialog_submits(page: Page, todo_playground: Playground) -> None:
    todo_playground.open(page)
    send(page, "/todo add")
    dialog = page.locator("dialog#dialog")
    dialog.wait_for()
    assert page.locator("#dialog-title").inner_text() == "Add an item"
    page.locator("#field-title").fill("file the taxes")
    page.locator("#field-due").fill("2001-01-01")
    screenshot(page, "dialog")
    page.locator("#dialog-submit").click()
    # The plugin's answer keeps it open, with the reason by the field.
    error = dialog.locator(".field[data-field='due'] .field-error")
    error.wait_for()
    assert error.inner_text() == "That date has passed."
    next_year = datetime.date.today() + datetime.timedelta(days=365)
    page.locator("#field-due").fill(next_year.isoformat())
    page.locator("#dialog-submit").click()
    dialog.wait_for(state="hidden")
    post_with(page, f"file the taxes (due {next_year.isoformat()})")


def test_a_dialog_with_every_kind_of_field(page: Page, censor_playground: Playground) -> None:
    censor_playground.open(page)
    send(page, "/survey")
    dialog = page.locator("dialog#dialog")
    dialog.wait_for()
    assert dialog.locator("#dialog-intro strong").inner_text() == "quickly"
    assert dialog.locator("#field-size input:checked").get_attribute("value") == "M"
    assert dialog.locator("#field-notes-help").inner_text() == "Anything else?"
    dialog.locator("#field-colour").select_option("blue")
    page.locator("#dialog-submit").click()
    # A required checkbox must be checked, as in the webapp; the plugin is not asked.
    agree = dialog.locator(".field[data-field='agree'] .field-error")
    assert agree.inner_text() == "This field is required."
    dialog.get_by_label("I agree").check()
    page.locator("#dialog-submit").click()
    colour = dialog.locator(".field[data-field='colour'] .field-error")
    colour.wait_for()
    assert colour.inner_text() == "Not blue, please."
    assert agree.inner_text() == ""
    dialog.locator("#field-colour").select_option("green")
    dialog.get_by_label("L", exact=True).check()
    dialog.locator("#field-notes").fill("none")
    page.locator("#dialog-submit").click()
    dialog.wait_for(state="hidden")
    post_with(page, "Survey: agree=True, colour=green, notes=none, size=L")
    # The plugin asked to hear of a cancel (notify_on_cancel).
    send(page, "/survey")
    dialog.wait_for()
    page.locator("#dialog-cancel").click()
    dialog.wait_for(state="hidden")
    post_with(page, "Survey cancelled")


def test_a_cancelled_dialog_closes(page: Page, todo_playground: Playground) -> None:
    todo_playground.open(page)
    send(page, "/todo add")
    dialog = page.locator("dialog#dialog")
    dialog.wait_for()
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")


def test_light_and_dark(page: Page, censor_playground: Playground) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        censor_playground.open(page)
        send(page, f"seen in {scheme} mode")
        post_with(page, f"seen in {scheme} mode")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == ("rgb(255, 255, 255)" if scheme == "light" else "rgb(31, 35, 41)")
        screenshot(page, f"channel-{scheme}")


def test_the_screenshot_of_the_docs(page: Page, tmp_path: Path) -> None:
    """The picture in docs/dev-server.md, taken on a fresh dev server; written to the
    artifacts, and to docs/images/ with MATTERMOST_PLUGIN_UPDATE_DOCS_SCREENSHOT=1."""
    with playground_server(CENSOR, tmp_path) as playground:
        bob = playground.user("bob")
        as_bob = {"Mattermost-User-Id": bob["id"]}
        root = playground.http.post(
            "/api/v4/posts",
            json={"channel_id": "town-square", "message": "Is the release ready?"},
            headers=as_bob,
        ).json()
        admin = playground.server.local.user.id
        playground.http.post(
            "/api/v4/reactions",
            json={"user_id": admin, "post_id": root["id"], "emoji_name": "eyes"},
        )
        playground.open(page)
        send(page, "darn, almost: one test left")
        post_with(page, "d**n, almost")
        send(page, "that badword test again")
        post_with(page, "that badword test again")
        send(page, "/shout fixed it")
        post_with(page, "FIXED IT!")
        send(page, "/pick")
        post_with(page, "Pick a colour")
        reply = playground.http.post(
            "/api/v4/posts",
            json={
                "channel_id": "town-square",
                "message": "Ship it :rocket:",
                "root_id": root["id"],
            },
            headers=as_bob,
        )
        assert reply.status_code == 201, reply.text
        post_with(page, "Is the release ready?").get_by_role("button", name="1 reply").click()
        post_with(page, "Ship it", within="#thread-posts")
        page.locator("#message-box").fill("/")
        page.locator("#suggestions").wait_for()
        page.mouse.move(0, 0)
        shot = screenshot(page, "overview")
    assert shot.stat().st_size > 10_000
    if os.environ.get(UPDATE_DOCS_SCREENSHOT) == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, DOCS_SCREENSHOT)
