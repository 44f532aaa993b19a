"""Start-up costs: importing the SDK, importing every generated module, one hook's models.

Each figure is the median wall time of fresh interpreters (``python -c …``), so it includes
the interpreter's own start; ``python -c pass`` is measured alongside as the floor.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Any

EVERY_GENERATED_MODULE = """
import importlib, pkgutil
import mattermost_plugin
for package in ("_pb", "_generated", "models"):
    package = "mattermost_plugin." + package
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        importlib.import_module(info.name)
"""

# What a plugin with a MessageWillBePosted handler does on its first call: read the request
# into models (PluginContext, Post) and build their validators.
ONE_HOOK = """
from mattermost_plugin._generated.hook_table import HOOKS
from mattermost_plugin._pb.pluginapi.v1 import post_pb2
spec = HOOKS["MessageWillBePosted"]
request = spec.request(post=post_pb2.Post(id="p", message="hi"))
context, post = (f.read(request) for f in spec.args)
type(post).model_validate(post.model_dump())
"""

CASES = {
    "python -c pass": "pass",
    "import mattermost_plugin": "import mattermost_plugin",
    "import every generated module": EVERY_GENERATED_MODULE,
    "one hook's models (MessageWillBePosted)": "import mattermost_plugin\n" + ONE_HOOK,
}


def _time(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def run(runs: int = 11) -> list[dict[str, Any]]:
    for code in CASES.values():
        _time(code)  # bytecode caches
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(runs):
        for name, code in CASES.items():
            samples[name].append(_time(code))
    return [
        {"name": f"start-up: {name}", "median_ms": round(statistics.median(s) * 1000, 1), "n": runs}
        for name, s in samples.items()
    ]


def table(entries: list[dict[str, Any]]) -> str:
    return "\n".join(f"{e['name']:<55} {e['median_ms']:>7.1f} ms" for e in entries)


if __name__ == "__main__":
    print(table(run()))
