"""Browser tests of the playground: a dev server in this process and a headless Chromium.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, or the path in
``MATTERMOST_PLUGIN_CHROMIUM``) driven by Playwright for Python; Playwright's own browser
downloads are never used. Without a browser (or without the ``playwright`` package) these
tests are skipped, unless ``MATTERMOST_PLUGIN_REQUIRE_BROWSER=1`` (set by ``.ci/run``, which
installs ``chromium``) turns that into a failure.

Fixtures:

* ``browser_context``: one Chromium for the package, with a fresh profile folder;
* ``page``: a new tab per test; a JavaScript error on it fails the test;
* ``todo_playground``, ``censor_playground``: a running dev server (one for the package) for
  ``examples/todo`` and ``plugins/censor``; :func:`playground_server` makes one for any
  plugin folder.

:func:`screenshot` writes a PNG under ``test-artifacts/playground/`` (ignored by git).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import httpx
import pytest
from tests.support.dev import REPO, copy_plugin, start_dev

from mattermost_plugin.host.dev_server import DevServer

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

REQUIRE_BROWSER = "MATTERMOST_PLUGIN_REQUIRE_BROWSER"
CHROMIUM_PATH = "MATTERMOST_PLUGIN_CHROMIUM"
ARTIFACTS = REPO / "test-artifacts" / "playground"
PLUGINS = Path(__file__).parent / "plugins"
TODO = REPO / "examples" / "todo"
CENSOR = PLUGINS / "censor"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
"""A laptop screen."""
TIMEOUT_MS = 10_000


def _no_browser(reason: str) -> NoReturn:
    if os.environ.get(REQUIRE_BROWSER) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_BROWSER}=1 requires one", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    """The Chromium to drive: ``$MATTERMOST_PLUGIN_CHROMIUM``, else ``chromium`` on PATH."""
    configured = os.environ.get(CHROMIUM_PATH)
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None
    )


@pytest.fixture(scope="package")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    executable = chromium_path()
    if executable is None:
        _no_browser("no chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("no playwright package (pip install -e '.[dev]')")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,  # type: ignore[arg-type]
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Iterator[Page]:
    """A new tab; the test fails if a script on it throws."""
    tab = browser_context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield tab
    finally:
        tab.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@dataclass
class Playground:
    """A running dev server and an HTTP client acting as its default user, ``admin``."""

    server: DevServer
    http: httpx.Client
    output: Any = field(repr=False)

    @property
    def url(self) -> str:
        return self.server.url

    def open(self, page: Page, query: str = "") -> Page:
        """Show the playground in ``page`` and wait until it has loaded its data."""
        page.goto(f"{self.url}/{query}")
        page.wait_for_selector("#playground[data-ready]")
        return page

    def user(self, username: str) -> dict[str, Any]:
        """A new user in the team ``local`` (and so in ``town-square``)."""
        created = self.http.post(
            "/api/v4/users",
            json={
                "username": username,
                "email": f"{username}@example.com",
                "password": "Password1!",
            },
        )
        assert created.status_code == 201, created.text
        user: dict[str, Any] = created.json()
        team = self.server.local.team.id
        joined = self.http.post(
            f"/api/v4/teams/{team}/members", json={"team_id": team, "user_id": user["id"]}
        )
        assert joined.status_code == 201, joined.text
        return user


@contextmanager
def playground_server(plugin: Path, folder: Path) -> Iterator[Playground]:
    """A dev server (in this process) for a copy of the plugin folder ``plugin``."""
    server, output = start_dev(copy_plugin(plugin, folder / plugin.name))
    client = httpx.Client(base_url=server.url, timeout=30)
    try:
        yield Playground(server, client, output)
    finally:
        client.close()
        server.stop()


@pytest.fixture(scope="package")
def todo_playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Playground]:
    with playground_server(TODO, tmp_path_factory.mktemp("todo")) as running:
        yield running


@pytest.fixture(scope="package")
def censor_playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Playground]:
    with playground_server(CENSOR, tmp_path_factory.mktemp("censor")) as running:
        yield running


def screenshot(page: Page, name: str) -> Path:
    """Save what ``page`` shows as ``test-artifacts/playground/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
