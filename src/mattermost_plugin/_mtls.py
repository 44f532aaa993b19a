"""go-plugin auto-mTLS: certificates, and the TLS front that serves them.

When the host sets ``PLUGIN_CLIENT_CERT``, the plugin makes a fresh self-signed certificate,
serves TLS with it, accepts only the host's certificate, and puts its own in the handshake
line. go-plugin's host makes its certificate with an ECDSA P-521 key, and gRPC's TLS
(BoringSSL) does not verify P-521 signatures: a grpc server asks for the client certificate
with a list of signature algorithms that leaves P-521 out, so the Go client sends none and
the handshake fails. So the TLS is not gRPC's: :class:`TLSFront` terminates it with Python's
``ssl`` module (OpenSSL, which verifies P-521) on the address the host connects to, and
relays the bytes to the gRPC server, which listens in plain text on a unix socket in a
directory only this user can enter.

Needs the optional ``cryptography`` package (the ``mtls`` extra) to make certificates.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import fcntl
import ipaddress
import logging
import os
import shutil
import socket
import ssl
import tempfile
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Certificate",
    "MTLSError",
    "TLSFront",
    "check_client_cert",
    "generate_certificate",
    "remove_abandoned_dirs",
]

_log = logging.getLogger("mattermost_plugin.process")
_TLS_HANDSHAKE_TIMEOUT = 10.0
_DIR_PREFIX = "mattermost-plugin-"
_LOCK_NAME = "owner.lock"


def _private_dir() -> tuple[str, int]:
    """A fresh 0700 folder and a descriptor holding the lock on its ``owner.lock`` for as
    long as this process lives: the system releases the lock when the process ends, even
    killed, so :func:`remove_abandoned_dirs` can tell folders nobody owns any more."""
    folder = tempfile.mkdtemp(prefix=_DIR_PREFIX)
    staging = os.path.join(folder, ".owner.lock")
    fd = os.open(staging, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(staging, os.path.join(folder, _LOCK_NAME))  # visible only once locked
    return folder, fd


def remove_abandoned_dirs(parent: str | None = None) -> list[str]:
    """Remove the private folders of plugins that ended without removing them (killed,
    crashed) from ``parent`` (default: the temporary folder); returns the ones removed.
    Only this user's folders whose owner lock is free are touched."""
    parent = parent or tempfile.gettempdir()
    removed: list[str] = []
    try:
        names = [n for n in os.listdir(parent) if n.startswith(_DIR_PREFIX)]
    except OSError:
        return removed
    for name in names:
        folder = os.path.join(parent, name)
        try:
            if os.lstat(folder).st_uid != os.getuid():
                continue
            fd = os.open(os.path.join(folder, _LOCK_NAME), os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue  # not ours, being made, or made by an older version
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # its owner is alive
        finally:
            os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


class MTLSError(Exception):
    """PLUGIN_CLIENT_CERT cannot be used."""


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate and its key."""

    cert_pem: bytes
    key_pem: bytes
    cert_der: bytes


def _import_cryptography() -> None:
    try:
        import cryptography  # noqa: F401  (only its presence is checked here)
    except ImportError:
        raise RuntimeError(
            "auto-mTLS (PLUGIN_CLIENT_CERT is set) needs the 'cryptography' package: "
            "install mattermost-plugin-sdk[mtls]"
        ) from None


def generate_certificate(curve: Literal["P-256", "P-521"] = "P-256") -> Certificate:
    """A fresh ECDSA certificate for ``localhost``/``127.0.0.1``, valid as client, server
    and CA, like go-plugin's: each side trusts exactly the other's certificate.

    The plugin's own is P-256, which every TLS stack verifies; go-plugin's host uses P-521
    (the Python host does too, to be tested like the real one). Raises ``RuntimeError``
    naming the ``mtls`` extra when ``cryptography`` is missing.
    """
    _import_cryptography()
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP521R1() if curve == "P-521" else ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))  # tolerate clock skew
        .not_valid_after(now + datetime.timedelta(days=365 * 30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA512() if curve == "P-521" else hashes.SHA256())
    )
    return Certificate(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert_der=cert.public_bytes(serialization.Encoding.DER),
    )


def check_client_cert(pem: bytes) -> None:
    """Raise :class:`MTLSError` unless ``pem`` is a PEM certificate."""
    _import_cryptography()
    from cryptography import x509

    try:
        x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise MTLSError(f"PLUGIN_CLIENT_CERT is not a PEM certificate: {exc}") from None


class TLSFront:
    """TLS with the host's certificate required, relayed to a plain-text gRPC server.

    Use: ``backend`` is the unix socket the gRPC server binds (insecure); :meth:`bind` takes
    the address the host connects to (``"127.0.0.1:PORT"``, port 0 for any, or
    ``"unix:/path"``) and returns the port; :meth:`start` serves; :meth:`close` stops and
    removes the private directory.
    """

    def __init__(self, cert: Certificate, client_cert_pem: bytes) -> None:
        remove_abandoned_dirs()  # of earlier plugins that were killed
        self._dir, self._lock_fd = _private_dir()  # mode 0700
        self.backend = os.path.join(self._dir, "grpc.sock")
        try:
            self._context = self._ssl_context(cert, client_cert_pem)
        except BaseException:
            self._remove_dir()
            raise
        self._sockets: list[socket.socket] = []
        self._paths: list[str] = []  # of the unix sockets, removed at close
        self._servers: list[asyncio.Server] = []
        self._relays: set[_Relay] = set()  # host-side connections being relayed

    def _ssl_context(self, cert: Certificate, client_cert_pem: bytes) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2  # as go-plugin's host
        # load_cert_chain reads files only: written in the private directory, read, removed.
        cert_file, key_file = os.path.join(self._dir, "cert.pem"), os.path.join(self._dir, "key")
        for path, data in ((cert_file, cert.cert_pem), (key_file, cert.key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(data)
        try:
            context.load_cert_chain(cert_file, key_file)
        finally:
            os.unlink(cert_file)
            os.unlink(key_file)
        context.verify_mode = ssl.CERT_REQUIRED
        try:
            context.load_verify_locations(cadata=client_cert_pem.decode())
        except (ssl.SSLError, ValueError) as exc:
            raise MTLSError(f"PLUGIN_CLIENT_CERT cannot be trusted: {exc}") from None
        context.set_alpn_protocols(["h2"])  # gRPC is HTTP/2; grpc-go checks the ALPN answer
        return context

    def bind(self, address: str) -> int:
        """Listen on ``address``; raise ``RuntimeError`` when it is taken (as gRPC does)."""
        if address.startswith("unix:"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: str | tuple[str, int] = address.removeprefix("unix:")
        else:
            host, port = address.rsplit(":", 1)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            # As gRPC: a port with connections in TIME_WAIT is usable; no SO_REUSEPORT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            target = (host, int(port))
        try:
            sock.bind(target)
            sock.listen(128)
        except OSError as exc:
            sock.close()
            raise RuntimeError(f"cannot listen on {address}: {exc}") from None
        self._sockets.append(sock)
        if isinstance(target, str):
            self._paths.append(target)
        return 0 if sock.family == socket.AF_UNIX else int(sock.getsockname()[1])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self._sockets:
            server = await loop.create_server(
                lambda: _HostSide(self),
                sock=sock,
                ssl=self._context,
                ssl_handshake_timeout=_TLS_HANDSHAKE_TIMEOUT,
            )
            self._servers.append(server)

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for relay in list(self._relays):
            relay.abort()
        for sock in self._sockets:
            sock.close()
        for path in self._paths:  # as gRPC does with its own unix sockets
            with contextlib.suppress(OSError):
                os.unlink(path)
        self._remove_dir()

    def _remove_dir(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)


class _Relay(asyncio.Protocol):
    """One side of a relayed connection: what it receives, its peer writes. When a peer
    cannot keep up (its write buffer is full), this side stops reading until it can."""

    transport: asyncio.Transport | None = None
    peer: _Relay | None = None
    _pending: list[bytes] | None = None  # received before the peer was connected

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)
        elif self._pending is None:
            self._pending = [data]
        else:
            self._pending.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.close()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def abort(self) -> None:
        for side in (self, self.peer):
            if side is not None and side.transport is not None:
                side.transport.abort()

    def join(self, peer: _Relay) -> None:
        """Pair the two sides; what either received before is passed on now."""
        self.peer, peer.peer = peer, self
        for side in (self, peer):
            pending, side._pending = side._pending or [], None
            for data in pending:
                side.data_received(data)


class _HostSide(_Relay):
    """The TLS connection from the host; connects its gRPC side when it is made."""

    def __init__(self, front: TLSFront) -> None:
        self._front = front

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.transport.pause_reading()  # until the gRPC side is there
        self._front._relays.add(self)
        self._connecting = asyncio.ensure_future(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, grpc_side = await loop.create_unix_connection(_Relay, self._front.backend)
        except OSError as exc:
            _log.warning("mTLS relay: the gRPC server cannot be reached: %s", exc)
            if self.transport is not None:
                self.transport.close()
            return
        self.join(grpc_side)
        if self.transport is None or self.transport.is_closing():
            grpc_side.abort()  # the host went away meanwhile
        else:
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._front._relays.discard(self)
