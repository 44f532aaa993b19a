"""The plugin that tests/interop/test_go_plugin.py runs under go-plugin's own client."""

from __future__ import annotations

from collections.abc import Iterator

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.http import HTTPRequest, HTTPResponse
from mattermost_plugin.models import FileInfo, PluginContext, Post

EIGHT_MIB_LINE = "0123456789abcdef" * (512 * 1024)


class InteropPlugin(Plugin):
    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        self.logger.info("interop plugin activated", extra={"answer": 42})
        print("printed after the handshake")  # must not reach the protocol's stdout

    @hook(HookName.MessageWillBePosted)
    def message_will_be_posted(self, context: PluginContext, post: Post) -> tuple[Post | None, str]:
        if post.message == "print trouble":
            # Would panic go-plugin's log reader if it reached stderr as it is.
            print('{"@message": 1, "@level": 2}')
            print(EIGHT_MIB_LINE)
            return post, ""
        if "badword" in post.message:
            return None, "Message blocked"
        if post.message.startswith("shout "):
            post.message = post.message.removeprefix("shout ").upper()
        return post, ""

    @hook(HookName.FileWillBeUploaded)
    def file_will_be_uploaded(
        self, context: PluginContext, file_info: FileInfo, file_content: bytes
    ) -> tuple[FileInfo | None, bytes | None, str]:
        if file_info.name.startswith("shout"):
            return file_info, file_content.upper(), ""
        return file_info, file_content, ""

    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> HTTPResponse:
        size = 0
        for chunk in request.stream():
            size += len(chunk)

        def body() -> Iterator[bytes]:
            yield f"{request.method} {request.path} {size}\n".encode()
            yield b"x" * 100_000  # more than one 64 KiB chunk

        return HTTPResponse(status_code=201, headers={"X-Seen": str(size)}, body=body())


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(InteropPlugin)
