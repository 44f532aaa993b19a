"""Large hook messages: peak memory of a plugin filtering a 50 MiB ``FileWillBeUploaded``.

The server sends an upload to the plugin as one message (PROTOCOL §6 "Message size"), so a
plugin's peak memory grows with the largest file it sees. Both sides are plugin processes
with the same filter (reject content starting with ``MZ``, upper-case files whose name
starts with ``shout``, keep the rest): the SDK plugin ``plugins/file_filter`` (a ``def``
handler) and the baseline ``plugins/raw_upload.py``, a raw grpc.aio servicer on the
protobufs with no message cap. The host side is a plain ``PluginHooksStub`` without limits,
as go-plugin dials. Each process serves ``CALLS`` uploads of one kind; its peak RSS
(``VmHWM``) is read from /proc afterwards, and the medians over ``RUNS`` processes are
compared. "kept" answers with no change; "replaced" sends a new 50 MiB file back.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc

from mattermost_plugin._pb.pluginapi.v1 import file_pb2, hooks_message_pb2, hooks_pb2_grpc

HERE = Path(__file__).parent
PLUGIN = HERE / "plugins" / "file_filter"
RAW = HERE / "plugins" / "raw_upload.py"
MiB = 1024 * 1024
SIZE = 50 * MiB
RUNS = 3
CALLS = 2
TARGET_RATIO = 1.25
TIMEOUT = 120.0
ENV = {
    "MATTERMOST_PLUGIN": "Securely message teams, anywhere.",
    "PLUGIN_PROTOCOL_VERSIONS": "1",
    "PLUGIN_MIN_PORT": "20000",
    "PLUGIN_MAX_PORT": "25000",
}
UNLIMITED = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]


def _kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/{pid}/status")


def _serve_uploads(argv: list[str], cwd: Path, name: str, content: bytes) -> tuple[int, int]:
    """Start a plugin, send it ``CALLS`` uploads; return (idle RSS, peak RSS) in KiB."""
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env={**os.environ, **ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        fields = process.stdout.readline().decode().strip().split("|")
        if len(fields) < 5:
            raise RuntimeError(f"{argv}: no handshake")
        time.sleep(0.5)  # idle: let start-up settle
        idle = _kib(process.pid, "VmRSS")
        request = hooks_message_pb2.FileWillBeUploadedRequest(
            file_info=file_pb2.FileInfo(id="f" * 26, name=name, size=len(content)),
            file_content=content,
        )
        with grpc.insecure_channel(fields[3], options=UNLIMITED) as channel:
            stub = hooks_pb2_grpc.PluginHooksStub(channel)
            for _ in range(CALLS):
                response = stub.FileWillBeUploaded(request, timeout=TIMEOUT)
                replaced = len(response.modified_content)
                if response.rejection_reason or replaced != (SIZE if "shout" in name else 0):
                    raise AssertionError(f"{argv}: unexpected answer for {name}")
        return idle, _kib(process.pid, "VmHWM")
    finally:
        process.kill()
        process.wait()


def run(runs: int = RUNS) -> list[dict[str, Any]]:
    """One entry per kind of answer (kept, replaced) for results.json."""
    content = os.urandom(SIZE)
    sides = {
        "sdk": ([sys.executable, "server/plugin.py"], PLUGIN),
        "baseline": ([sys.executable, str(RAW)], HERE),
    }
    entries = []
    for kind, name in (("kept", "report.pdf"), ("replaced", "shout.txt")):
        samples: dict[str, list[tuple[int, int]]] = {side: [] for side in sides}
        for i in range(runs):
            order = list(sides.items()) if i % 2 == 0 else list(reversed(sides.items()))
            for side, (argv, cwd) in order:
                samples[side].append(_serve_uploads(argv, cwd, name, content))
        idle = {side: statistics.median(s[0] for s in samples[side]) for side in sides}
        peak = {side: statistics.median(s[1] for s in samples[side]) for side in sides}
        ratio = peak["sdk"] / peak["baseline"]
        entries.append(
            {
                "name": f"upload 50MiB {kind}: peak RSS",
                "sdk_peak_kib": peak["sdk"],
                "baseline_peak_kib": peak["baseline"],
                "ratio": round(ratio, 3),
                "sdk_idle_kib": idle["sdk"],
                "baseline_idle_kib": idle["baseline"],
                "growth_ratio": round(
                    (peak["sdk"] - idle["sdk"]) / (peak["baseline"] - idle["baseline"]), 3
                ),
                "target": f"peak RSS ratio <= {TARGET_RATIO}",
                "ok": ratio <= TARGET_RATIO,
                "n": runs,
                "description": f"FileWillBeUploaded of 50 MiB, answer {kind}, {CALLS} calls per "
                "process: SDK plugin (def handler) vs a raw grpc.aio servicer; VmHWM medians",
            }
        )
    return entries


def table(entries: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{e['name']}: SDK {e['sdk_peak_kib'] / 1024:.0f} MiB vs raw grpcio "
        f"{e['baseline_peak_kib'] / 1024:.0f} MiB (ratio {e['ratio']:.2f}; growth over idle "
        f"{(e['sdk_peak_kib'] - e['sdk_idle_kib']) / 1024:.0f} vs "
        f"{(e['baseline_peak_kib'] - e['baseline_idle_kib']) / 1024:.0f} MiB, ratio "
        f"{e['growth_ratio']:.2f}); {e['target']}: {'yes' if e['ok'] else 'NO'}"
        for e in entries
    )


if __name__ == "__main__":
    print(table(run()))
