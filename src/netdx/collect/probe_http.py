"""The HTTP(S) GET of a URL flow, run on the flow's source host (`netdx verify`).

What `netdx.probes.http` does here, with the standard library only: a TCP connect to the
chosen address (not to whatever the URL's name resolves to), TLS with the URL's name as
SNI and certificate name when the scheme is https, one GET with the URL's Host, then the
response read until the server closes, the response looks complete, or 64 KiB of body.

Raw facts only: the bytes as they came (each chunk with its arrival time), the stage times
and, when something failed, which failure and its words (errno name, the certificate's
verify message, the TLS reason). `netdx.remote.probe_http` replays the bytes through the
very parser and classification the local probe uses, so both judge one exchange alike.
Every wait is bounded by the flow's deadline.

Python 3.9 and the standard library only: this runs on the source.
"""

from __future__ import annotations

import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from netdx.netlink.errors import os_error_name

from .clock import Deadline
from .system import Host

BODY_LIMIT = 64 * 1024
HEAD_LIMIT = 64 * 1024  # h11's own cap on an incomplete head (its max_incomplete_event_size)
READ_CHUNK = 16 * 1024
MAX_CHUNKS = 64
USER_AGENT = "netdx"
_HTTP = b"HTTP/"


def request_target(url: str, host: str) -> tuple[str, str]:
    """The request target (the URL's path and query) and the Host header for `host`: its
    name, bracketed when an IPv6 literal, with the URL's port when not the scheme's own.
    `netdx.probes.http` builds its request from this too, so both send one GET."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    name = f"[{host}]" if ":" in host else host
    default = 443 if parts.scheme.lower() == "https" else 80
    if parts.port is not None and parts.port != default:
        name = f"{name}:{parts.port}"
    return target, name


def request_bytes(url: str, host: str) -> bytes:
    """The GET as `netdx.probes.http` sends it: the URL's path, Host from its name (and the
    port when not the scheme's own), Connection: close."""
    target, name = request_target(url, host)
    lines = [f"GET {target} HTTP/1.1", f"Host: {name}", f"User-Agent: {USER_AGENT}",
             "Accept: */*", "Connection: close"]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii", "strict")


def exchange(host: Host, url: str, name: str, address: str, port: int,
             deadline: Deadline) -> dict[str, Any]:  # fmt: skip
    """GET `url` from `address`:`port`: the raw facts (see the module docstring)."""
    start = time.monotonic()

    def at() -> float:
        return round((time.monotonic() - start) * 1000.0, 3)

    out: dict[str, Any] = {"url": url, "address": address, "budget_ms": round(
        deadline.remaining() * 1000.0, 2), "connect_start_ms": None, "tls_started_ms": None,
        "connected_ms": None, "tls_version": None, "chunks": [], "eof": False,
        "error": None, "end_ms": None}  # fmt: skip
    af = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock: Any = None
    try:
        payload = request_bytes(url, name)
        sock = host.socket(af, socket.SOCK_STREAM)
        out["connect_start_ms"] = at()
        _wait(sock, deadline)
        sock.connect((address, port))
        if url.lower().startswith("https:"):
            out["tls_started_ms"] = at()
            context = ssl.create_default_context()
            _wait(sock, deadline)
            sock = context.wrap_socket(sock, server_hostname=name)
            out["tls_version"] = sock.version()
        out["connected_ms"] = at()
        _wait(sock, deadline)
        sock.sendall(payload)
        _read(sock, deadline, out, at)
    except Exception as exc:  # every failure is a fact: which kind, and its words
        out["error"] = failure(exc)
    finally:
        if sock is not None:
            sock.close()
    out["end_ms"] = at()
    return out


def _wait(sock: socket.socket, deadline: Deadline) -> None:
    """The next blocking call waits at most what is left of the flow's budget."""
    left = deadline.remaining()
    if left <= 0:
        raise TimeoutError("the flow's budget ran out")
    sock.settimeout(left)


def _read(sock: socket.socket, deadline: Deadline, out: dict[str, Any], at: Any) -> None:
    """Read until EOF, a response that looks complete, a peer that is not HTTP, or the
    limits; keep each chunk with its arrival time."""
    data = b""
    while len(out["chunks"]) < MAX_CHUNKS:
        _wait(sock, deadline)
        chunk = sock.recv(READ_CHUNK)
        if not chunk:
            out["eof"] = True
            return
        out["chunks"].append([at(), chunk.hex()])
        data += chunk
        if data[: len(_HTTP)] != _HTTP[: len(data)]:
            return  # not HTTP: what it sent is enough to say so
        if looks_complete(data):
            return


def looks_complete(data: bytes) -> bool:
    """Enough read: a whole response by its length or its last chunk, a status without a
    body, or the limits. Only decides when to stop reading; the parser judges the bytes."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return len(data) >= HEAD_LIMIT
    if len(body) >= BODY_LIMIT:
        return True
    fields = head.split(b"\r\n")
    parts = fields[0].split(b" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    if 100 <= status < 200:
        return looks_complete(body) if body else False  # the real answer follows
    if status in (204, 304):
        return True
    for line in fields[1:]:
        key, _, val = line.partition(b":")
        key, val = key.strip().lower(), val.strip().lower()
        if key == b"content-length" and val.isdigit():
            return len(body) >= int(val)
        if key == b"transfer-encoding" and val.endswith(b"chunked"):
            return body.endswith(b"0\r\n\r\n")
    return False  # the body runs to EOF


def failure(exc: BaseException) -> dict[str, Any]:
    """What failed, as data: timeout, cert (with the verify message), tls (with the
    reason), os (with the errno name), or other."""
    text = str(exc)[:300]
    if isinstance(exc, ssl.SSLCertVerificationError):
        message = getattr(exc, "verify_message", None)
        return {"kind": "cert", "text": text, "verify_message": str(message or text)[:300]}
    # Before OSError (both are one); on 3.9 a socket's timeout is not yet TimeoutError.
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return {"kind": "timeout", "text": text}
    if isinstance(exc, ssl.SSLError):
        return {"kind": "tls", "text": text, "reason": str(getattr(exc, "reason", "") or text)}
    if isinstance(exc, OSError):
        return {"kind": "os", "text": text, "errno": os_error_name(exc),
                "strerror": str(exc.strerror or text)[:200]}  # fmt: skip
    return {"kind": "other", "text": f"{type(exc).__name__}: {text}"}
