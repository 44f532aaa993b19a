"""Large and long-lived ServeHTTP exchanges (tests/http/test_through_supervisor.py).

- ``POST /upload``: hashes the body as it streams in (never holding it) and answers its
  size, SHA-256, chunk count and largest chunk.
- ``GET /download?mib=N``: N MiB made on the fly from a 1 MiB block (``block()``), yielded
  1 MiB at a time; logs ``download stopped early`` when the client goes away first.
- ``POST /echo``: answers at once, before reading the body, then echoes each request chunk
  as it arrives (the host can read an echo before it sends the next chunk); logs
  ``echo: body complete``, or ``echo: stopped early`` when the client goes away first.
- ``POST /held-upload``: logs ``held upload: receiving`` at the first chunk, reads the body
  until the client goes away, then logs ``held upload: client disconnected``.
- ``POST /buffered-upload``: reads ``request.body`` whole (the control of the RSS checks).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.http import ClientDisconnected, HTTPRequest, HTTPResponse
from mattermost_plugin.models import PluginContext

MiB = 1024 * 1024
SEED = 20240601


def block() -> bytes:
    """The download's 1 MiB block (the test makes the same one)."""
    return random.Random(SEED).randbytes(MiB)


class StreamingPlugin(Plugin):
    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> HTTPResponse:
        if request.path == "/upload":
            return self.upload(request)
        if request.path == "/download":
            mib = int(request.query_params.get("mib", ["1"])[0])
            return HTTPResponse(
                200, {"Content-Type": "application/octet-stream"}, self.download(request, mib)
            )
        if request.path == "/echo":
            self.logger.info("echo: answering before the body arrived")
            return HTTPResponse(
                200, {"Content-Type": "application/octet-stream"}, self.echo(request)
            )
        if request.path == "/held-upload":
            return self.held_upload(request)
        if request.path == "/buffered-upload":  # the control: holds the whole body
            return HTTPResponse.json({"bytes": len(request.body)})
        return HTTPResponse.text("not found", 404)

    def upload(self, request: HTTPRequest) -> HTTPResponse:
        digest, size, chunks, largest = hashlib.sha256(), 0, 0, 0
        for chunk in request.stream():
            digest.update(chunk)
            size += len(chunk)
            chunks += 1
            largest = max(largest, len(chunk))
        return HTTPResponse.json(
            {"bytes": size, "sha256": digest.hexdigest(), "chunks": chunks, "largest": largest}
        )

    def download(self, request: HTTPRequest, mib: int) -> Iterator[bytes]:
        data, sent = block(), 0
        try:
            for _ in range(mib):
                sent += len(data)  # handed to the SDK
                yield data
        finally:
            if sent < mib * MiB:
                self.logger.info(
                    "download stopped early",
                    extra={"sent": sent, "cancelled": request.cancelled.wait(5)},
                )

    def echo(self, request: HTTPRequest) -> Iterator[bytes]:
        complete = False
        try:
            yield from request.stream()
            complete = True
        finally:
            if complete:
                self.logger.info("echo: body complete")
            else:
                self.logger.info(
                    "echo: stopped early", extra={"cancelled": request.cancelled.wait(5)}
                )

    def held_upload(self, request: HTTPRequest) -> HTTPResponse:
        received = 0
        try:
            for chunk in request.stream():
                if not received:
                    self.logger.info("held upload: receiving", extra={"first": len(chunk)})
                received += len(chunk)
        except ClientDisconnected as exc:
            self.logger.info(
                "held upload: client disconnected",
                extra={
                    "received": received,
                    "error": str(exc),
                    "cancelled": request.cancelled.is_set(),
                },
            )
            raise
        return HTTPResponse.text(f"got {received} bytes")


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(StreamingPlugin)
