"""Writes to stdout and stderr in every way a plugin can; tests/process/test_output_relay.py.

MessageWillBePosted runs the output case the post's message names (see CASES).
TEST_AT_EXIT=1 leaves output for the exit (an atexit print, an unterminated line);
TEST_CRASH=segfault|os_exit makes OnDeactivate end the process that way.
"""

import atexit
import ctypes
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import PluginContext, Post

MiB = 1024 * 1024
LONG_TEXT = "".join(f"{i:07d} naïve ☃ 😀|" for i in range(40_000))  # ~0.8 MiB, mixed widths


def _partial() -> None:
    os.write(1, b"first half, ")
    time.sleep(0.3)  # the relay reads the first half alone
    os.write(1, b"second half\n")


def _odd_bytes() -> None:
    os.write(1, "naïve ☃ 😀 NUL:\x00 end\r\n".encode())
    os.write(1, b"bad utf-8: \xff\xfe\xc3 end\n")
    os.write(1, b"carriage\rreturn inside\n")
    os.write(1, b"\n")  # an empty line


def _utf8_split_across_writes() -> None:
    snowman = "☃".encode()
    os.write(2, b"split " + snowman[:1])
    time.sleep(0.2)
    os.write(2, snowman[1:] + b" joined\n")


def _from_c() -> None:
    libc = ctypes.CDLL(None)
    libc.puts(b"from C stdio")
    libc.fflush(None)


def _thread_crash() -> None:
    def fail() -> None:
        raise RuntimeError("boom in a thread")

    thread = threading.Thread(target=fail)
    thread.start()
    thread.join()


CASES: dict[str, Callable[[], object]] = {
    "print": lambda: print("plain print"),
    "stderr": lambda: print("to stderr", file=sys.stderr),
    "json": lambda: (
        print('{"@message": 1, "@level": 2}'),
        os.write(2, b'{"@message": "m", "@level": "error", "@timestamp": 3}\n'),
    ),
    "partial": _partial,
    "odd": _odd_bytes,
    "utf8_split": _utf8_split_across_writes,
    "long": lambda: print(LONG_TEXT),
    "warning": lambda: warnings.warn("careful now", UserWarning, stacklevel=1),
    "c": _from_c,
    "child": lambda: subprocess.run(["sh", "-c", "echo from a child; echo child error >&2"]),
    "thread": _thread_crash,
}


class NoisyPlugin(Plugin):
    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        if os.environ.get("TEST_AT_EXIT"):
            atexit.register(print, "printed by an atexit handler")

    @hook(HookName.MessageWillBePosted)
    def message_will_be_posted(self, context: PluginContext, post: Post) -> None:
        if post.message == "sdk_long":
            self.logger.info(LONG_TEXT, extra={"blob": "z" * 100_000, "n": 1, "part": "mine"})
        else:
            CASES[post.message]()
        self.logger.info("case done", extra={"case": post.message})

    @hook(HookName.OnDeactivate)
    def on_deactivate(self) -> None:
        crash = os.environ.get("TEST_CRASH")
        if crash:
            os.write(2, b"about to crash\n")
            if crash == "segfault":
                ctypes.string_at(0)
            os._exit(3)
        if os.environ.get("TEST_AT_EXIT"):
            sys.stderr.write("no newline at the end")


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(NoisyPlugin)
