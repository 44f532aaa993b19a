# The guide's code as written: not reformatted, imports in the guide's order.
# fmt: off
# ruff: noqa: I001
# The guide's Best Practices, "Resource Management", as written, with the helpers it calls:
# connect_to_database() opens an SQLite database; start_background_task() starts a thread
# that writes a heartbeat to the KV store until it is cancelled. Both log when released.
from __future__ import annotations

import sqlite3
import threading

from mattermost_plugin import Plugin, hook, HookName


class Database:
    def __init__(self, plugin: MyPlugin) -> None:
        self.plugin = plugin
        self.connection = sqlite3.connect(":memory:", check_same_thread=False)
        self.connection.execute("CREATE TABLE beats (n INTEGER)")

    def close(self) -> None:
        self.connection.close()
        self.plugin.logger.info("database connection closed")


class BackgroundTask:
    def __init__(self, plugin: MyPlugin) -> None:
        self.plugin = plugin
        self.beats = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, name="heartbeat", daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stopped.wait(0.05):
            self.beats += 1
            self.plugin.api.kv_set("heartbeat", str(self.beats))

    def cancel(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.plugin.logger.info("background task cancelled", extra={"beats": self.beats})


class MyPlugin(Plugin):
    def connect_to_database(self) -> Database:
        return Database(self)

    def start_background_task(self) -> BackgroundTask:
        return BackgroundTask(self)

    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        self.db_connection = self.connect_to_database()
        self.background_task = self.start_background_task()

    @hook(HookName.OnDeactivate)
    def on_deactivate(self) -> None:
        if hasattr(self, 'background_task'):
            self.background_task.cancel()
        if hasattr(self, 'db_connection'):
            self.db_connection.close()


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin
    run_plugin(MyPlugin)
