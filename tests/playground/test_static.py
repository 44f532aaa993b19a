"""The playground's files: ``GET /`` and ``GET /playground/<file>``, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.playground.conftest import Playground
from tests.support.dev import head_and_body, raw_exchange

import mattermost_plugin.host
from mattermost_plugin.host._dev_playground import CONTENT_TYPES


def test_the_page_is_served_at_the_root(censor_playground: Playground) -> None:
    answer = censor_playground.http.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    page = answer.text
    assert '<aside id="author-panels" aria-label="Plugin author panels"></aside>' in page
    assert '<script type="module" src="/playground/app.js"></script>' in page
    assert '<script type="module" src="/playground/panels.js"></script>' in page
    assert '<link rel="stylesheet" href="/playground/panels.css">' in page


PLAYGROUND = Path(mattermost_plugin.host.__file__).parent / "playground"


@pytest.mark.parametrize("name", sorted(p.name for p in PLAYGROUND.iterdir()))
def test_every_file_is_served_with_its_content_type(
    censor_playground: Playground, name: str
) -> None:
    answer = censor_playground.http.get(f"/playground/{name}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == CONTENT_TYPES[Path(name).suffix]
    assert answer.content == (PLAYGROUND / name).read_bytes()


def test_the_modules_import_only_files_that_are_there() -> None:
    """No build step: what a module imports is served as it is."""
    for module in PLAYGROUND.glob("*.js"):
        for imported in re.findall(r'from "\./([^"]+)"', module.read_text()):
            assert (PLAYGROUND / imported).is_file(), (module.name, imported)


def test_head_answers_the_headers_only(censor_playground: Playground) -> None:
    answer = censor_playground.http.head("/playground/app.js")
    assert answer.status_code == 200
    assert int(answer.headers["content-length"]) > 0
    assert answer.content == b""


@pytest.mark.parametrize(
    "target",
    [
        "/playground/../dev_server.py",
        "/playground/../../host/dev_server.py",
        "/playground/..%2f_dev_routes.py",
        "/playground/%2e%2e/_dev_routes.py",
        "/playground/..",
        "/playground/.",
        "/playground/",
        "/playground/.hidden.js",
        "/playground/sub/app.js",
        "/playground//etc/passwd",
        "/playground/app.js%00.css",
        "/playground/missing.js",
        "/playground/__init__.py",
        "/playground/app.JS.exe",
        "/playground\\..\\_dev_routes.py",
    ],
)
def test_nothing_outside_the_folder_is_served(censor_playground: Playground, target: str) -> None:
    """The raw request line, so that no client normalizes ``..`` away."""
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{censor_playground.server.port}\r\n"
    answer, _ = raw_exchange(
        censor_playground.server.port, (request + "Connection: close\r\n\r\n").encode()
    )
    status, _headers, body = head_and_body(answer)
    assert status in (400, 404), (target, answer[:300])
    assert b"import" not in body and b"root:" not in body


def test_only_get_and_head(censor_playground: Playground) -> None:
    # Each on its own connection: the dev server answers before reading a refused body,
    # and closes the connection when the body has not arrived by then.
    close = {"Connection": "close"}
    answer = censor_playground.http.post("/playground/app.js", content=b"x", headers=close)
    assert answer.status_code == 405
    assert censor_playground.http.delete("/", headers=close).status_code == 405


def test_the_page_follows_the_host_rule(censor_playground: Playground) -> None:
    answer = censor_playground.http.get("/", headers={"Host": "evil.example"})
    assert answer.status_code == 403


def test_the_banner_points_to_the_page(censor_playground: Playground) -> None:
    banner = censor_playground.output.getvalue()
    assert f"  browser   {censor_playground.url}/  (the playground: " in banner
