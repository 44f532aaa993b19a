"""The sockets a process has open, read from /proc (Linux): for the loopback tests."""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class OpenSocket:
    kind: str  # tcp, tcp6, udp, udp6, unix
    local: str  # "ip:port", or the unix path ("" unnamed, "@..." abstract)
    remote: str  # "ip:port" ("" for unix and unconnected)
    listening: bool


def _ip(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, struct.pack("<I", struct.unpack(">I", raw)[0]))
    words = struct.unpack("<4I", raw)
    return socket.inet_ntop(socket.AF_INET6, struct.pack(">4I", *words))


def _endpoint(text: str) -> str:
    address, port = text.split(":")
    return f"{_ip(address)}:{int(port, 16)}"


def sockets_of(pid: int) -> list[OpenSocket]:
    """Every socket ``pid`` holds (TCP, UDP and unix; others are ignored)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for kind in ("tcp", "tcp6", "udp", "udp6"):
        with open(f"/proc/{pid}/net/{kind}") as table:
            next(table)
            for line in table:
                fields = line.split()
                if fields[9] in inodes:
                    listening = kind.startswith("tcp") and fields[3] == "0A"
                    remote = "" if listening else _endpoint(fields[2])
                    found.append(OpenSocket(kind, _endpoint(fields[1]), remote, listening))
    with open(f"/proc/{pid}/net/unix") as table:
        next(table)
        for line in table:
            fields = line.split()
            if fields[6] in inodes:
                path = fields[7] if len(fields) > 7 else ""
                found.append(OpenSocket("unix", path, "", fields[5] == "01"))
    return found


def is_loopback(endpoint: str) -> bool:
    host = endpoint.rsplit(":", 1)[0]
    address = ipaddress.ip_address(host)
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def problems(pid: int) -> list[str]:
    """What ``pid`` holds that is neither on loopback nor a private unix socket."""
    found = []
    for sock in sockets_of(pid):
        if sock.kind == "unix":
            if sock.local and not sock.local.startswith("@"):
                folder = os.path.dirname(sock.local)
                mode = os.stat(folder).st_mode & 0o777 if os.path.exists(folder) else 0
                if mode & 0o007 or os.stat(folder).st_uid != os.getuid():
                    found.append(f"unix socket {sock.local} in a folder of mode {oct(mode)}")
            continue
        if sock.local.endswith(":0"):
            continue  # not bound (yet): reaches nothing
        connected = sock.remote and not sock.remote.endswith(":0")
        if not is_loopback(sock.local) or (connected and not is_loopback(sock.remote)):
            found.append(f"{sock.kind} {sock.local} -> {sock.remote or '(listening)'}")
    return found
