# mypy: allow-untyped-defs, allow-untyped-calls
# The guide's code as written: not reformatted, imports in the guide's order.
# fmt: off
# ruff: noqa: I001
# The guide's "ServeHTTP" section, as written, completed with the `json` import and the
# `process_request` helper it leaves undefined.
import json

from mattermost_plugin import Plugin, hook, HookName


class ServeHTTPPlugin(Plugin):
    def process_request(self, body):
        payload = json.loads(body) if body else {}
        return {"received": payload, "size": len(body)}

    @hook(HookName.ServeHTTP)
    def serve_http(self, context, request):
        if request.path == "/api/hello":
            return {
                "status_code": 200,
                "headers": {"Content-Type": "application/json"},
                "body": '{"message": "Hello from Python!"}'
            }

        if request.path == "/api/data":
            data = self.process_request(request.body)
            return {
                "status_code": 200,
                "headers": {"Content-Type": "application/json"},
                "body": json.dumps(data)
            }

        return {"status_code": 404, "body": "Not found"}


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin
    run_plugin(ServeHTTPPlugin)
