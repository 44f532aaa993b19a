"""Floods its stderr on request: ``GET /flood?lines=N&mib=M`` writes N short lines, then one
line of M MiB. What the host's memory under a log flood is measured with."""

from mattermost_plugin import HookName, HTTPResponse, Plugin, hook
from mattermost_plugin.http import HTTPRequest
from mattermost_plugin.models import PluginContext


class LogFlood(Plugin):
    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> HTTPResponse:
        params = request.query_params
        lines, mib = int(params.get("lines", ["0"])[0]), int(params.get("mib", ["0"])[0])
        out = open(2, "wb", closefd=False)  # noqa: SIM115 - the raw descriptor, unbuffered by line
        for i in range(lines):
            out.write(b"flood line %d of the benchmark\n" % i)
        block = b"x" * (1 << 20)
        for _ in range(mib):
            out.write(block)
        out.write(b"\nflood done\n")
        out.flush()
        return HTTPResponse(200, {}, b"flooded")


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(LogFlood)
