"""The browser fixtures work: the page loads in Chromium, also without panels.js."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.playground.conftest import Playground

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_the_page_loads(page: Page, censor_playground: Playground) -> None:
    page.goto(censor_playground.url + "/")
    assert page.title() == "Mattermost plugin playground"
    assert page.locator("#author-panels").get_attribute("aria-label") == "Plugin author panels"
