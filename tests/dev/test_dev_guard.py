"""The dev server refuses what a web page could make a browser send it: requests through
another host name (DNS rebinding) and state-changing cross-site requests. Tools that send
no browser headers (curl, scripts, these helpers) are not affected."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from tests.support.dev import (
    RAW_ANSWERS,
    DevProcess,
    copy_plugin,
    dev_server,
    head_and_body,
    raw_exchange,
)

from mattermost_plugin.host._dev_guard import RequestGuard
from mattermost_plugin.host._http_front import HTTPError, Request

PLUGIN = "/plugins/com.example.raw-answers"


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
    folder = copy_plugin(RAW_ANSWERS, tmp_path_factory.mktemp("guard") / "plugin")
    with dev_server(folder, "--in-memory") as running:
        yield running


def _send(dev: DevProcess, method: str, path: str, headers: dict[str, str], body: bytes = b""):
    lines = [f"{method} {path} HTTP/1.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    answer, _ = raw_exchange(dev.port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    status, _, raw_body = head_and_body(answer)
    return status, json.loads(raw_body) if raw_body.startswith(b"{") else raw_body


def _post_count(dev: DevProcess) -> int:
    return len(dev.request("GET", "/api/v4/channels/town-square/posts").json()["order"])


@pytest.mark.parametrize(
    "host",
    ["evil.example:{port}", "evil.example", "127.0.0.1:1", "localhost", "[::1]:{port}", "0:{port}"],
)
def test_a_foreign_host_header_is_refused(dev: DevProcess, host: str) -> None:
    host = host.format(port=dev.port)
    for path in ("/api/v4/system/ping", f"{PLUGIN}/exact", "/dev/status"):
        status, body = _send(dev, "GET", path, {"Host": host})
        assert status == 403, (path, body)
        assert body["id"] == "api.dev.host_not_allowed"
        assert repr(host) in body["message"] and body["status_code"] == 403


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_its_own_host_names_are_served(dev: DevProcess, host: str) -> None:
    status, body = _send(dev, "GET", "/api/v4/system/ping", {"Host": host.format(port=dev.port)})
    assert status == 200 and body["status"] == "OK"


def test_a_cross_origin_text_plain_post_is_refused_and_posts_nothing(dev: DevProcess) -> None:
    before = _post_count(dev)
    host = f"127.0.0.1:{dev.port}"
    attacks = [
        {"Origin": "http://evil.example", "Content-Type": "text/plain"},
        {"Origin": "null", "Content-Type": "text/plain"},
        {"Origin": f"http://127.0.0.1:{dev.port + 1}"},  # another port is another origin
        {"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"},
        {"Sec-Fetch-Site": "cross-site", "Origin": f"http://127.0.0.1:{dev.port}"},
    ]
    body = json.dumps({"channel_id": "town-square", "message": "pwned"}).encode()
    for headers in attacks:
        for method, path in (
            ("POST", "/api/v4/posts"),
            ("POST", "/api/v4/commands/execute"),
            ("PUT", f"{PLUGIN}/exact"),
            ("DELETE", f"{PLUGIN}/exact"),
        ):
            status, answer = _send(dev, method, path, {"Host": host, **headers}, body)
            assert status == 403, (headers, method, path, answer)
            assert answer["id"] in ("api.dev.cross_origin", "api.dev.cross_site")
            assert answer["status_code"] == 403 and "refused" in answer["message"]
    assert _post_count(dev) == before


def test_same_origin_and_tool_requests_change_state(dev: DevProcess) -> None:
    before = _post_count(dev)
    body = json.dumps({"channel_id": "town-square", "message": "fine"}).encode()
    allowed = [
        {"User-Agent": "curl/8.5.0", "Accept": "*/*"},  # the README's curl lines
        {"Origin": f"http://127.0.0.1:{dev.port}"},
        {"Origin": f"http://localhost:{dev.port}", "Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},  # typed in the address bar
    ]
    for headers in allowed:
        status, answer = _send(
            dev, "POST", "/api/v4/posts", {"Host": f"localhost:{dev.port}", **headers}, body
        )
        assert status == 201, (headers, answer)
    assert _post_count(dev) == before + len(allowed)
    assert dev.post("through the test helper").status == 201


def test_cross_site_reads_are_not_state_changes(dev: DevProcess) -> None:
    headers = {
        "Host": f"127.0.0.1:{dev.port}",
        "Origin": "http://evil.example",
        "Sec-Fetch-Site": "cross-site",
    }
    assert _send(dev, "GET", "/api/v4/system/ping", headers)[0] == 200
    assert _send(dev, "GET", f"{PLUGIN}/exact", headers)[0] == 200


def test_refusals_are_printed_with_the_reason(dev: DevProcess) -> None:
    _send(dev, "GET", "/api/v4/system/ping", {"Host": "rebound.example"})
    dev.wait_output(r"GET /api/v4/system/ping → 403 \(Host 'rebound.example' is not")


def _request(method: str, headers: list[tuple[str, str]], version: str = "1.1") -> Request:
    return Request(method, "/", headers, version, ("127.0.0.1", 1))


@pytest.mark.parametrize(
    ("method", "headers", "refused"),
    [
        ("GET", [("Host", "127.0.0.1:8065")], None),
        ("GET", [("Host", " Localhost:8065 ")], None),
        ("GET", [("Host", "127.0.0.1")], 403),
        ("GET", [("Host", "127.0.0.1:8065.evil")], 403),
        ("GET", [], 400),
        ("POST", [("Host", "127.0.0.1:8065"), ("Origin", "http://localhost:8065/")], None),
        ("POST", [("Host", "127.0.0.1:8065"), ("Origin", "https://127.0.0.1:8065")], 403),
        ("PATCH", [("Host", "127.0.0.1:8065"), ("sec-fetch-site", "Cross-Site")], 403),
        ("POST", [("Host", "127.0.0.1:8065"), ("Sec-Fetch-Site", "same-site")], None),
        ("OPTIONS", [("Host", "127.0.0.1:8065"), ("Origin", "http://evil.example")], None),
    ],
)
def test_guard_table(method: str, headers: list[tuple[str, str]], refused: int | None) -> None:
    guard = RequestGuard(8065)
    if refused is None:
        guard.check(_request(method, headers))
    else:
        with pytest.raises(HTTPError) as error:
            guard.check(_request(method, headers))
        assert error.value.status == refused


def test_an_http_1_0_request_without_host_is_served() -> None:
    RequestGuard(8065).check(_request("GET", [], "1.0"))


def test_port_80_may_be_left_out() -> None:
    RequestGuard(80).check(_request("GET", [("Host", "localhost")]))
