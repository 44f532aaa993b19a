"""Run the hello_python plugin under the embedded local host — no Mattermost server needed.

Starts an in-memory fake Mattermost (the PluginAPI service), launches the plugin as a real
subprocess through the Python supervisor (the same go-plugin contract the server uses),
then posts two messages and runs the /hello command, printing what happens.

    python examples/run_hello.py [PLUGIN_FOLDER]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mattermost_plugin._pb.pluginapi.v1 import (
    api_remaining_pb2,
    hooks_command_pb2,
    hooks_message_pb2,
    post_pb2,
    user_pb2,
)
from mattermost_plugin.host.fake_server import FakeMattermost, serve
from mattermost_plugin.host.supervisor import PluginSupervisor
from mattermost_plugin.logging import HclogRecord


def show_log(record: HclogRecord | str) -> None:
    if isinstance(record, str):
        print(f"  plugin  debug  {record}")
    else:
        extra = f"  {record.fields}" if record.fields else ""
        print(f"  plugin  {record.level:<5}  {record.message}{extra}")


def main() -> int:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "hello_python")
    fake = FakeMattermost()
    server, address = serve(fake)
    alice = user_pb2.User(id="alice0000000000000000000000", username="alice")
    fake.users[alice.id] = alice
    print(f"fake Mattermost PluginAPI on {address}")
    started = time.monotonic()
    supervisor = PluginSupervisor(
        folder, api_target=address, python=sys.executable, on_log=show_log
    )
    try:
        supervisor.start()
        print(
            f"plugin {folder.name} started in {time.monotonic() - started:.2f} s "
            f"(handshake {supervisor.handshake_seconds:.2f} s); hooks: {supervisor.implemented}"
        )
        for text in ("Hello everyone!", "this has a badword in it"):
            post = post_pb2.Post(user_id=alice.id, channel_id="town-square", message=text)
            answer = supervisor.call(
                "MessageWillBePosted", hooks_message_pb2.MessageWillBePostedRequest(post=post)
            )
            verdict = answer.rejection_reason or "allowed"  # type: ignore[attr-defined]
            print(f"post {text!r}: {verdict}")
        args = api_remaining_pb2.CommandArgs(command="/hello Python", user_id=alice.id)
        reply = supervisor.call(
            "ExecuteCommand", hooks_command_pb2.ExecuteCommandRequest(args=args)
        )
        print(f"/hello Python → {reply.response.text!r}")  # type: ignore[attr-defined]
        print(f"registered commands: {sorted(t for _, t in fake.commands)}")
    finally:
        supervisor.stop()
        server.stop(None)
    print(f"plugin stopped (exit code {supervisor.returncode})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
