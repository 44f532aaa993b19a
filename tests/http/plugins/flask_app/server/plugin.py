"""A Flask app as the plugin's ServeHTTP handler (tests/http/test_through_supervisor.py).

Converters in the routes, a JSON body, a streamed response (a generator), a streamed
upload (``request.stream``), ``url_for`` (which needs ``SCRIPT_NAME``) and error pages.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Flask, Response, jsonify, request, url_for

from mattermost_plugin import Plugin
from mattermost_plugin.http import mount_wsgi

app = Flask(__name__)


@app.get("/items/<int:item_id>")
def read_item(item_id: int) -> Response:
    return jsonify(
        item_id=item_id,
        q=request.args.get("q"),
        user_id=request.headers.get("Mattermost-User-Id"),
        url=url_for("read_item", item_id=item_id),
        script_root=request.script_root,
    )


@app.post("/items/<int:item_id>")
def create_item(item_id: int) -> tuple[Response, int]:
    data = request.get_json()
    return jsonify(item_id=item_id, item=data, tag_count=len(data.get("tags", []))), 201


@app.get("/stream/<int:count>")
def stream(count: int) -> Response:
    def lines() -> Iterator[str]:
        for i in range(count):
            yield f"line {i}\n"

    return Response(lines(), mimetype="text/plain")


@app.post("/upload")
def upload() -> Response:
    size = 0
    while True:
        chunk = request.stream.read(64 * 1024)
        if not chunk:
            break
        size += len(chunk)
    return jsonify(bytes=size)


class FlaskPlugin(Plugin):
    serve_http = mount_wsgi(app)


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(FlaskPlugin)
