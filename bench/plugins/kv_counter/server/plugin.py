"""``GET /hammer?key=K&workers=4&seconds=3``: ``workers`` threads increment ``K`` with
``collection.update`` until the time is up; answers ``{"ok": n, "gave_up": n}``."""

from __future__ import annotations

import json
import threading
import time

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.http import HTTPRequest
from mattermost_plugin.kv import UpdateConflictError
from mattermost_plugin.models import PluginContext


class KVCounter(Plugin):
    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> dict[str, object]:
        query = {name: values[0] for name, values in request.query_params.items()}
        key, workers = query.get("key", "hot"), int(query.get("workers", "4"))
        deadline = time.monotonic() + float(query.get("seconds", "3"))
        counter = self.kv.collection("contention", int)
        counts = {"ok": 0, "gave_up": 0}
        lock = threading.Lock()

        def loop() -> None:
            while time.monotonic() < deadline:
                try:
                    counter.update(key, lambda n: (n or 0) + 1)
                    outcome = "ok"
                except UpdateConflictError:
                    outcome = "gave_up"
                with lock:
                    counts[outcome] += 1

        threads = [threading.Thread(target=loop) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return {"status_code": 200, "body": json.dumps(counts)}


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(KVCounter)
