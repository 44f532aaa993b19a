"""100 MiB through ServeHTTP each way, streamed: neither side holds the whole body.

Client and plugin run in this process, so the peak RSS (VmHWM, reset before each transfer)
covers both sides. A control test that buffers the upload shows the measurement sees it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from tests.support.http import HookServer, MiB, current_rss, peak_rss, peak_rss_reset

from mattermost_plugin import Plugin
from mattermost_plugin.hooks import HookName, hook
from mattermost_plugin.http import HTTPRequest, HTTPResponse
from mattermost_plugin.models import PluginContext

TOTAL = 100 * MiB
LIMIT = 40 * MiB
BLOCK = os.urandom(MiB)

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc peak RSS reset"
)


def blocks(piece: int) -> Iterator[bytes]:
    """TOTAL bytes in pieces of ``piece`` bytes, made on the fly."""
    for _ in range(TOTAL // MiB):
        for i in range(0, MiB, piece):
            yield BLOCK[i : i + piece]


def expected_digest() -> str:
    h = hashlib.sha256()
    for _ in range(TOTAL // MiB):
        h.update(BLOCK)
    return h.hexdigest()


DIGEST = expected_digest()


class BigPlugin(Plugin):
    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> Any:
        if request.path == "/upload":
            h, n = hashlib.sha256(), 0
            for chunk in request.stream():
                h.update(chunk)
                n += len(chunk)
            return HTTPResponse.json({"bytes": n, "sha256": h.hexdigest()})
        if request.path == "/buffered-upload":
            body = request.body
            return HTTPResponse.json({"bytes": len(body)})
        return HTTPResponse(200, {"Content-Type": "application/octet-stream"}, blocks(MiB))


class AsyncBigPlugin(Plugin):
    @hook(HookName.ServeHTTP)
    async def serve_http(self, context: PluginContext, request: HTTPRequest) -> Any:
        if request.path == "/upload":
            h, n = hashlib.sha256(), 0
            async for chunk in request.astream():
                h.update(chunk)
                n += len(chunk)
            return HTTPResponse.json({"bytes": n, "sha256": h.hexdigest()})

        async def download() -> AsyncIterator[bytes]:
            for block in blocks(MiB):
                yield block
                await asyncio.sleep(0)

        return HTTPResponse(200, None, download())


def measure(action: Any) -> tuple[Any, int, float]:
    """(result, peak RSS growth in bytes, seconds) of ``action()``."""
    peak_rss_reset()
    before = current_rss()
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    return result, peak_rss() - before, elapsed


def report(what: str, growth: int, elapsed: float) -> None:
    print(
        f"\n{what}: {TOTAL / MiB:.0f} MiB in {elapsed:.2f} s = {TOTAL / MiB / elapsed:.0f} MiB/s, "
        f"peak RSS growth {growth / MiB:.1f} MiB"
    )


@pytest.mark.parametrize("plugin_class", [BigPlugin, AsyncBigPlugin])
def test_upload_100_mib_is_streamed(server_for: Any, plugin_class: type[Plugin]) -> None:
    server: HookServer = server_for(plugin_class)

    def upload() -> Any:
        with server.request("POST", "/upload", body=blocks(256 * 1024)) as r:
            return r.status_code, r.read()

    (status, body), growth, elapsed = measure(upload)
    report(f"upload ({plugin_class.__name__})", growth, elapsed)
    assert status == 200
    assert body == f'{{"bytes": {TOTAL}, "sha256": "{DIGEST}"}}'.encode()
    assert growth < LIMIT


@pytest.mark.parametrize("plugin_class", [BigPlugin, AsyncBigPlugin])
def test_download_100_mib_is_streamed(server_for: Any, plugin_class: type[Plugin]) -> None:
    server: HookServer = server_for(plugin_class)

    def download() -> Any:
        h, n = hashlib.sha256(), 0
        with server.request("GET", "/download") as r:
            for chunk in r:
                assert len(chunk) <= 64 * 1024
                h.update(chunk)
                n += len(chunk)
        return n, h.hexdigest()

    (n, digest), growth, elapsed = measure(download)
    report(f"download ({plugin_class.__name__})", growth, elapsed)
    assert (n, digest) == (TOTAL, DIGEST)
    assert growth < LIMIT


def test_control_buffering_is_visible(server_for: Any) -> None:
    """The measurement is meaningful: a handler that reads ``request.body`` shows up."""
    server: HookServer = server_for(BigPlugin)

    def upload() -> Any:
        with server.request("POST", "/buffered-upload", body=blocks(256 * 1024)) as r:
            return r.read()

    body, growth, elapsed = measure(upload)
    report("buffered upload (control)", growth, elapsed)
    assert body == f'{{"bytes": {TOTAL}}}'.encode()
    assert growth > TOTAL
