"""How each Python block of the user guide (``../shared/guide/python-plugins.md``) is checked.

We cannot put directives into the guide, so this map gives each of its blocks one, found by a
line that only that block has. Most blocks run for real in ``tests/hooks/test_guide.py``,
each copied unchanged into a plugin folder under ``tests/hooks/plugins/guide_*``: those are
``covered``, and the check is that every line of the block is in that copy, in order. The
others run here, or are type-checked with their reason.
"""

from __future__ import annotations

from tests.docs.snippets import Directive

GUIDE_TEST = "tests/hooks/test_guide.py"


def copy(folder: str) -> Directive:
    """Run by tests/hooks/test_guide.py as a plugin, from a copy in ``guide_<folder>``."""
    return Directive(
        "covered",
        {
            "by": GUIDE_TEST,
            "in": f"tests/hooks/plugins/guide_{folder}/server/plugin.py",
            "reason": "test_guide.py starts a copy of it as a plugin and checks what it does",
        },
    )


# A method of a plugin, as the guide shows handlers: inside a Plugin class.
IN_A_PLUGIN = """\
import json
from typing import Any

from mattermost_plugin import HookName, Plugin, hook


class GuidePlugin(Plugin):
    def process_request(self, body: bytes) -> dict[str, Any]:
        return {"received": len(body)}

    {snippet}
"""
IN_A_HANDLER = """\
from mattermost_plugin import Plugin


class GuidePlugin(Plugin):
    def handler(self, user_id: str) -> None:
        {snippet}
"""
# ServeHTTP as the guide writes it, in a complete plugin.
HTTP_PLUGIN = """\
import json
from typing import Any

from mattermost_plugin import HookName, Plugin, hook


class GuidePlugin(Plugin):
    def process_request(self, body: bytes) -> dict[str, Any]:
        return {"received": len(body)}

    {snippet}


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(GuidePlugin)
"""
HTTP_CHECK = """\
hello = mattermost.get("/api/hello")
assert (hello.status_code, hello.json()) == (200, {"message": "Hello from Python!"})
assert hello.headers["Content-Type"] == "application/json"
data = mattermost.post("/api/data", body=b"12345")
assert (data.status_code, data.json()) == (200, {"received": 5})
missing = mattermost.get("/nowhere")
assert (missing.status_code, missing.body) == (404, b"Not found")
"""
HTTP_OK_CHECK = """\
answer = mattermost.get("/anything")
assert (answer.status_code, answer.body) == (200, b"OK")
"""

# A line only that block has → how it is checked.
GUIDE_MAP: dict[str, Directive] = {
    'self.logger.info("My plugin deactivated!")': copy("getting_started"),
    "class MyPlugin(Plugin):\n    pass": copy("sdk_base"),
    "# Also valid: using string names": copy("sdk_decorator"),
    "# Create a post": copy("sdk_api"),
    'self.logger.debug("Debug message")': copy("logging"),
    'self.logger.info("Configuration changed!")': copy("hook_reference"),
    "# Allow: return the post (optionally modified) with empty rejection": copy("hook_reference"),
    'return "Login blocked by plugin"': copy("hook_reference"),
    "def on_user_joined(self, context, channel_member, actor_id):": copy("hook_reference"),
    'if args.command == "/hello":': copy("hook_reference"),
    'self.logger.error(f"API error: {e.error_id} - {e.message}")': copy("api_errors"),
    "async def async_operation():": Directive(
        "typecheck",
        {
            "reason": "it connects to a fixed address (localhost:50051); test_guide.py's"
            " test_async_client runs the same code against a fake server on a free port"
        },
    ),
    "data = self.process_request(request.body)": Directive(
        "plugin",
        {"reason": "the guide's handler, in a plugin with the process_request it calls"},
        HTTP_PLUGIN,
        HTTP_CHECK,
    ),
    "raise  # Re-raise to indicate activation failure": copy("error_handling"),
    'self.logger.warning(f"Rate limit approaching for user {user_id}")': copy("logging"),
    "from unittest.mock import MagicMock": Directive(
        "pytest",
        {"plugin": "tests/hooks/plugins/guide_hook_reference"},
    ),
    "self.background_task = self.start_background_task()": copy("resources"),
    'self.enabled_features = config.get("features", [])': copy("configuration"),
    "class HelloPythonPlugin(Plugin):": copy("example"),
    "# The SDK handles this automatically when using @hook decorator": Directive(
        "typecheck",
        {"reason": "a handler without its plugin class (Troubleshooting: Hooks Not Called)"},
        IN_A_PLUGIN,
    ),
    "# Correct: includes self parameter": Directive(
        "typecheck",
        {"reason": "a handler without its plugin class (Troubleshooting: Hooks Not Called)"},
        IN_A_PLUGIN,
    ),
    'return {"status_code": 200, "body": "OK"}': Directive(
        "plugin",
        {"reason": "the guide's minimal ServeHTTP, in a plugin"},
        HTTP_PLUGIN,
        HTTP_OK_CHECK,
    ),
    "# Cache user data": Directive(
        "typecheck",
        {"reason": "lines of a handler: self and user_id come from around them"},
        IN_A_HANDLER,
    ),
    'self.logger.debug("Detailed debug information")': Directive(
        "typecheck",
        {"reason": "a line of a handler: self comes from around it"},
        IN_A_HANDLER,
    ),
}
