"""The author panels beside the chat, in Chromium, against a dev server running the workshop
plugin (tests/dev/plugins/workshop) as a real subprocess: each panel shows what the plugin
did, live, and its controls work. Each test leaves a screenshot in test-artifacts/."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from tests.playground.conftest import Playground, playground_server, screenshot
from tests.playground.test_playground import UPDATE_DOCS_SCREENSHOT
from tests.support.dev import REPO, copy_plugin, start_dev

from mattermost_plugin.host._config_patch import FAKE_SETTING

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

WORKSHOP = REPO / "tests" / "dev" / "plugins" / "workshop"
DOCS_SCREENSHOT = REPO / "docs" / "images" / "playground-panels.png"
PLUGIN_ID = "com.example.workshop"


@pytest.fixture(scope="module")
def workshop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Playground]:
    with playground_server(WORKSHOP, tmp_path_factory.mktemp("workshop")) as running:
        yield running


def post(playground: Playground, message: str) -> int:
    answer = playground.http.post(
        "/api/v4/posts", json={"channel_id": "town-square", "message": message}
    )
    return answer.status_code


def open_panel(playground: Playground, page: Page, name: str) -> Locator:
    playground.open(page)
    page.wait_for_selector("#author-panels[data-ready]")
    page.click(f"#tab-{name}")
    panel = page.locator(f"#panel-{name}")
    panel.locator("xpath=self::*[@data-loaded]").wait_for()
    return panel


def expect() -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def test_the_hook_log_shows_calls_live_filters_them_and_shows_failures(
    page: Page, workshop: Playground
) -> None:
    panel = open_panel(workshop, page, "hooks")
    assert post(workshop, "hello panels") == 201  # after the page loaded: it comes live
    row = panel.locator(".row[data-hook='MessageWillBePosted']").filter(has_text="hello panels")
    expect()(row.first).to_be_visible()
    expect()(row.first.locator(".outcome")).to_have_text("allowed")
    expect()(row.first.locator(".node")).to_have_text("node 0")
    expect()(panel.locator(".row[data-hook='MessageHasBeenPosted']").first).to_be_visible()

    panel.get_by_label("Filter by hook").select_option("MessageHasBeenPosted")
    expect()(panel.locator(".row[data-hook='MessageWillBePosted']")).to_have_count(0)
    expect()(panel.locator(".row[data-hook='MessageHasBeenPosted']").first).to_be_visible()

    panel.get_by_label("Filter by hook").select_option("")
    assert post(workshop, "count twelve") == 201
    panel.get_by_text("failures only").click()
    failed = panel.locator(".row.failed").filter(has_text="twelve").first
    expect()(failed).to_be_visible()
    failed.locator(".row-head").click()
    details = panel.locator(".row.failed").filter(has_text="twelve").first
    expect()(details.locator(".origin")).to_contain_text("server/plugin.py:")
    expect()(details.locator(".origin")).to_contain_text("in parse_count")
    expect()(details.locator(".traceback")).to_contain_text("ValueError: invalid literal")
    shot = screenshot(page, "panels-hooks")
    if os.environ.get(UPDATE_DOCS_SCREENSHOT) == "1":  # the picture in docs/dev-server.md
        shutil.copyfile(shot, DOCS_SCREENSHOT)


def test_the_log_filters_by_level_and_text(page: Page, workshop: Playground) -> None:
    assert post(workshop, "no spam please") == 400
    panel = open_panel(workshop, page, "logs")
    expect()(panel.locator(".row[data-level='debug']").first).to_be_visible()
    panel.get_by_label("Lowest level").select_option("warn")
    expect()(panel.locator(".row[data-level='debug']")).to_have_count(0)
    expect()(panel.locator(".row[data-level='info']")).to_have_count(0)
    rejected = panel.locator(".row[data-level='warn']").filter(has_text="rejected a post")
    expect()(rejected).to_have_count(1)
    panel.get_by_label("Lowest level").select_option("debug")
    panel.get_by_label("Filter the log by text").fill("activated")
    expect()(panel.locator(".row")).to_have_count(1)
    expect()(panel.locator(".row .message")).to_have_text("workshop activated")
    panel.get_by_label("Filter the log by text").fill("")
    assert post(workshop, "count eleven") == 201  # comes live, with its traceback
    line = panel.locator(".row[data-level='error']").filter(has_text="eleven").first
    expect()(line).to_be_visible()
    line.locator("summary").click()
    expect()(line.locator(".traceback")).to_contain_text("parse_count")
    screenshot(page, "panels-logs")


def test_the_status_shows_state_pid_and_a_failed_reload(page: Page, workshop: Playground) -> None:
    local = workshop.server.local
    panel = open_panel(workshop, page, "status")
    expect()(panel.locator(".state")).to_have_text("running")
    expect()(panel.locator("dd[data-field='PID']")).to_have_text(str(local.supervisor.pid))
    expect()(panel.locator("dd[data-field='reloads']")).to_have_text("0")
    source = local.plugin_dir / "server" / "plugin.py"
    good = source.read_text()
    source.write_text(good.replace('self.logger.info("workshop activated")', "1 / 0"))
    try:
        assert not local.reload()
        expect()(panel.locator(".last-error")).to_contain_text("ZeroDivisionError")
        expect()(panel.locator(".last-error .traceback")).to_contain_text("server/plugin.py")
        expect()(panel.locator(".state")).to_have_text("running")  # the old one still serves
        screenshot(page, "panels-status")
    finally:
        source.write_text(good)
        assert local.reload()
    expect()(panel.locator("dd[data-field='reloads']")).to_have_text("1")
    expect()(panel.locator(".last-error")).to_have_count(0)


def test_the_kv_browser_lists_pages_shows_json_and_deletes(
    page: Page, workshop: Playground
) -> None:
    assert post(workshop, "remember beta") == 201
    assert post(workshop, "fill") == 201
    workshop.server.local.wait_for_hooks()
    panel = open_panel(workshop, page, "kv")
    expect()(panel.locator(".row[data-key='item-00']")).to_be_visible()
    expect()(panel.locator(".page-of")).to_have_text(re.compile(r"page 1 of 2"))
    panel.get_by_role("button", name=re.compile("^Older")).click()
    expect()(panel.locator(".page-of")).to_have_text(re.compile(r"page 2 of 2"))
    expect()(panel.locator(".row[data-key='item-00']")).to_have_count(0)

    panel.locator(".chip").filter(has_text="notes").click()
    expect()(panel.get_by_label("Key prefix")).to_have_value("notes:")
    panel.locator(".row[data-key='notes:beta'] .row-head").click()
    shown = panel.locator(".kv-value pre.json")
    expect()(shown).to_contain_text('"text": "beta"')
    expect()(shown).to_contain_text('"token": "[REDACTED]"')
    assert "kv-token-value" not in page.content()
    screenshot(page, "panels-kv")
    page.emulate_media(color_scheme="dark")
    background = panel.evaluate("node => getComputedStyle(node.closest('aside')).backgroundColor")
    assert background == "rgb(31, 35, 41)"  # the page's dark --bg
    screenshot(page, "panels-kv-dark")
    page.emulate_media(color_scheme="light")

    delete = panel.locator(".kv-value").get_by_role("button", name="Delete")
    delete.click()
    panel.locator(".kv-value").get_by_role("button", name="Delete for good?").click()
    expect()(panel.locator(".kv-value .notice")).to_have_text("Deleted notes:beta.")
    expect()(panel.locator(".row[data-key='notes:beta']")).to_have_count(0)
    assert workshop.http.get("/dev/kv/notes%3Abeta").status_code == 404


def test_the_settings_form_follows_the_schema_saves_and_shows_invalid_settings(
    page: Page, workshop: Playground
) -> None:
    panel = open_panel(workshop, page, "settings")
    form = panel.locator("form.settings-form")
    expect()(form.locator(".settings-header")).to_have_text("Settings of the workshop plugin.")
    expect()(form.locator(".setting[data-key='enabled'] input[type='radio']")).to_have_count(2)
    expect()(form.locator("#setting-max_links")).to_have_attribute("type", "number")
    expect()(form.locator("#setting-notes")).to_have_js_property("tagName", "TEXTAREA")
    expect()(form.locator("#setting-mode option")).to_have_text(["Relaxed", "Strict"])
    expect()(form.locator("#setting-api_key")).to_have_attribute("type", "password")
    expect()(form.locator(".settings-section")).to_have_text("Service")
    expect()(form.locator(".setting[data-key='max_links'] .help")).to_have_text(
        "Links a post may contain before it is rejected."
    )

    strictness = form.locator(".setting[data-key='strictness'] input[type='radio']")
    expect()(strictness).to_have_count(2)
    form.locator(".setting[data-key='strictness']").get_by_label("high").check()
    expect()(form.locator("#setting-signing_key")).to_have_value("")
    form.locator(".setting[data-key='signing_key']").get_by_role(
        "button", name="Regenerate"
    ).click()
    expect()(form.locator("#setting-signing_key")).to_have_value(
        re.compile(r"^[A-Za-z0-9]{20,32}$")
    )
    form.locator("#setting-greeting").fill("ahoy")
    form.locator("#setting-api_key").fill("sk-typed-in-the-form-123")
    form.locator("#setting-mode").select_option("strict")
    form.get_by_role("button", name="Save").click()
    expect()(panel.locator(".notice.ok")).to_contain_text("OnConfigurationChange ran")
    assert workshop.http.get(f"/plugins/{PLUGIN_ID}/hello").json()["greeting"] == "ahoy"
    # The secret comes back masked, as in the System Console, and is kept when saved again.
    expect()(form.locator("#setting-api_key")).to_have_value(FAKE_SETTING)
    assert "sk-typed-in-the-form-123" not in page.content()
    calls = workshop.http.get("/dev/hooks", params={"hook": "OnConfigurationChange"}).json()
    assert calls["calls"][0]["outcome"] == "done"

    form.locator("#setting-max_links").fill("")
    form.locator("#setting-max_links").type("12.5")
    form.get_by_role("button", name="Save").click()
    alert = panel.locator(".invalid-settings")
    expect()(alert).to_contain_text("max_links")
    expect()(form.locator(".setting[data-key='max_links'] .setting-problem")).to_be_visible()
    screenshot(page, "panels-settings")
    config = workshop.server.local.server.config["PluginSettings"]["Plugins"][PLUGIN_ID]
    assert config["api_key"] == "sk-typed-in-the-form-123" and config["mode"] == "strict"
    assert config["strictness"] == "high" and len(config["signing_key"]) >= 20

    form.locator("#setting-max_links").fill("4")
    form.get_by_role("button", name="Save").click()
    expect()(panel.locator(".notice.ok")).to_be_visible()
    expect()(form.locator(".setting-problem")).to_have_count(0)

    # ConfigurationWillBeSaved refuses: nothing is saved, the plugin's reason is shown.
    form.locator("#setting-greeting").fill("forbidden")
    form.get_by_role("button", name="Save").click()
    refused = panel.locator(".settings-result .panel-error")
    expect()(refused).to_contain_text("Not saved")
    expect()(refused).to_contain_text("the greeting 'forbidden' is not allowed")
    assert workshop.http.get(f"/plugins/{PLUGIN_ID}/hello").json()["greeting"] == "ahoy"


def test_the_http_panel_sends_a_request_and_shows_the_answer(
    page: Page, workshop: Playground
) -> None:
    panel = open_panel(workshop, page, "http")
    expect()(panel.locator(".path-prefix")).to_have_text(f"/plugins/{PLUGIN_ID}")
    panel.get_by_label("Method").select_option("POST")
    panel.get_by_label("Path below the plugin's root").fill("/echo")
    panel.get_by_label("Request body").fill('{"ping": 1}')
    panel.get_by_role("button", name="Send").click()
    expect()(panel.locator(".status-code")).to_have_attribute("data-status", "201")
    expect()(panel.locator(".response-body")).to_have_text('{"ping": 1}')  # no JSON type: as is
    panel.locator(".response-headers summary").click()
    expect()(panel.locator(".response-headers pre")).to_contain_text("x-echo: yes")

    panel.get_by_label("Method").select_option("GET")
    panel.get_by_label("Path below the plugin's root").fill("/missing")
    panel.get_by_role("button", name="Send").click()
    expect()(panel.locator(".status-code")).to_have_attribute("data-status", "404")
    expect()(panel.locator(".response-body")).to_have_text("no such page")

    panel.get_by_label("Path below the plugin's root").fill("/hello")
    panel.get_by_role("button", name="Send").click()
    expect()(panel.locator(".response-body")).to_contain_text('"greeting": "')  # JSON: indented
    screenshot(page, "panels-http")
    calls = workshop.http.get("/dev/hooks", params={"hook": "ServeHTTP"}).json()["calls"]
    assert [c["args"] for c in calls[:3]] == ["GET /hello", "GET /missing", "POST /echo"]


def test_the_status_lists_each_nodes_pid_on_a_cluster(page: Page, tmp_path: Path) -> None:
    folder = copy_plugin(WORKSHOP, tmp_path / "workshop")
    server, output = start_dev(folder, nodes=2)
    client = httpx.Client(base_url=server.url, timeout=30)
    try:
        panel = open_panel(Playground(server, client, output), page, "status")
        pids = [node.pid for node in server.local.nodes]
        expect()(panel.locator("dd[data-field='PIDs']")).to_have_text(
            f"node 0: {pids[0]}, node 1: {pids[1]}"
        )
    finally:
        client.close()
        server.stop()
