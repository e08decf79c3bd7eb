"""The first exchange of a database protocol after the TCP connect: does the port speak it?

- postgres: an SSLRequest (8 bytes); a server answers one byte, 'S' (TLS offered) or 'N'
  (not offered), or an ErrorResponse ('E').
- redis: PING as a RESP array; `+PONG`, or an error line such as `-NOAUTH Authentication
  required.` (a healthy server that wants AUTH first) or `-LOADING`.
- mysql: nothing to send, the server speaks first: a greeting packet (protocol version 10,
  the server's version) or an ERR packet ("Host '10.0.0.10' is not allowed to connect").

The readers (`read_postgres`, `read_redis`, `read_mysql`) are pure: bytes in, the
`ServiceHandshake` those bytes make (its address and port still empty: the probe fills in
where and when), or None while the answer is incomplete; tested on captured server bytes. The probe
(`handshake`) is a thin loop around them on asyncio streams, bounded by its deadline; every
outcome, a silence included, is evidence.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netdx.budget import Deadline
from netdx.model.record import replace
from netdx.model.service import HandshakeOutcome, ServiceHandshake, ServiceProtocol
from netdx.netlink.errors import os_error_text
from netdx.probes import bind

if TYPE_CHECKING:
    from netdx.probes.tls import TlsChannel

SSL_REQUEST = struct.pack("!II", 8, 80877103)
REDIS_PING = b"*1\r\n$4\r\nPING\r\n"
QUOTE_BYTES = 64  # of the answer, quoted in the evidence
_MAX_READ = 4096  # no first answer of these protocols is longer; more is not the protocol
_MYSQL_MAX_GREETING = 1024


def quote(data: bytes) -> str:
    """Bytes as a Python bytes literal's inside: printable ASCII kept, the rest escaped."""
    return repr(data)[2:-1]


def _said(
    protocol: ServiceProtocol, data: bytes, outcome: HandshakeOutcome, answer: str
) -> ServiceHandshake:
    """What `data`, the answer to the protocol's first message, says on its own: the
    handshake without its address, port and times, which the probe adds (`_evidence`)."""
    return ServiceHandshake(
        protocol=protocol,
        address="",
        port=0,
        outcome=outcome,
        sent=quote(_PROTOCOLS[protocol][0]),
        received=quote(data[:QUOTE_BYTES]),
        answer=answer,
    )


def _mismatch(protocol: ServiceProtocol, data: bytes) -> ServiceHandshake:
    return _said(protocol, data, "mismatch", f"not the protocol: b'{quote(data[:QUOTE_BYTES])}'")


def _fields(payload: bytes) -> dict[str, str]:
    """The typed NUL-terminated fields of a postgres ErrorResponse body."""
    out: dict[str, str] = {}
    for part in payload.split(b"\0"):
        if part:
            out[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return out


def read_postgres(data: bytes) -> ServiceHandshake | None:
    """The answer to an SSLRequest: exactly b'S' or b'N', or an ErrorResponse."""
    if not data:
        return None
    if data in (b"S", b"N"):
        offered = "the server offers TLS" if data == b"S" else "the server does not offer TLS"
        return _said("postgres", data, "ok", f"SSLRequest answered '{data.decode()}': {offered}")
    if data[:1] != b"E":
        return _mismatch("postgres", data)  # an SSH banner starts with 'S' too, but never alone
    if len(data) < 5:
        return None
    if data[1] != 0:
        return _postgres_v2_error(data)
    (length,) = struct.unpack("!I", data[1:5])
    if not 4 < length <= _MAX_READ:
        return _mismatch("postgres", data)
    if len(data) < 1 + length:
        return None
    fields = _fields(data[5 : 1 + length])
    if "M" not in fields:
        return _mismatch("postgres", data)
    code = f" ({fields['C']})" if "C" in fields else ""
    severity = fields.get("S", "ERROR")
    return _said("postgres", data, "server_error", f"{severity}: {fields['M']}{code}")


def _postgres_v2_error(data: bytes) -> ServiceHandshake | None:
    """An error in the old (version 2) format: 'E' and one NUL-terminated text, as postgres
    still sends before it has agreed on a protocol ("unsupported frontend protocol", a fork
    that failed)."""
    end = data.find(b"\0", 1)
    if end < 0:
        return None if len(data) < _MAX_READ else _mismatch("postgres", data)
    text = data[1:end].decode("utf-8", "replace").strip()
    if not text.isprintable():
        return _mismatch("postgres", data)
    return _said("postgres", data, "server_error", text)


def read_redis(data: bytes) -> ServiceHandshake | None:
    """The reply to PING: one RESP simple string or error line."""
    if not data:
        return None
    if data[:1] not in (b"+", b"-"):
        return _mismatch("redis", data)
    line, sep, _ = data.partition(b"\r\n")
    if not sep:
        return None if len(data) < 512 else _mismatch("redis", data)
    text = line.decode("utf-8", "replace")
    if text == "+PONG":
        return _said("redis", data, "ok", "+PONG")
    if text.startswith("-NOAUTH") or text.startswith("-WRONGPASS"):
        return _said("redis", data, "auth_required", text)
    if text.startswith("-"):
        return _said("redis", data, "server_error", text)
    return _said("redis", data, "ok", text)  # another +reply is still redis


def read_mysql(data: bytes) -> ServiceHandshake | None:
    """The server's first packet: a protocol-10 greeting or an ERR packet."""
    if len(data) < 4:
        return None
    length = int.from_bytes(data[:3], "little")
    if data[3] != 0 or not 0 < length <= _MYSQL_MAX_GREETING:
        return _mismatch("mysql", data)  # the first packet has sequence 0 and a short payload
    if len(data) < 4 + length:
        return None
    payload = data[4 : 4 + length]
    if payload[0] == 0xFF and len(payload) >= 3:
        code = int.from_bytes(payload[1:3], "little")
        message = payload[3:]
        if message[:1] == b"#":
            message = message[6:]  # '#' and the five-character SQLSTATE
        text = message.decode("utf-8", "replace")
        refused = _said("mysql", data, "server_error", f"ERROR {code}: {text}")
        return replace(refused, error_code=code)
    if payload[0] == 10 and b"\0" in payload[1:]:
        version = payload[1 : payload.index(b"\0", 1)].decode("utf-8", "replace")
        greeting = _said("mysql", data, "ok", f"greeting: protocol 10, server {version}")
        return replace(greeting, server_version=version, protocol_version=10)
    return _mismatch("mysql", data)


_PROTOCOLS: dict[str, tuple[bytes, Callable[[bytes], ServiceHandshake | None]]] = {
    "postgres": (SSL_REQUEST, read_postgres),
    "redis": (REDIS_PING, read_redis),
    "mysql": (b"", read_mysql),
}


@dataclass(slots=True)
class _Answer:
    """The answer read so far (mutable on purpose: kept when the wait ends half way)."""

    data: bytes = b""
    said: ServiceHandshake | None = None  # by the protocol's reader, once complete


async def _read_answer(
    answer: _Answer,
    recv: Callable[[], Awaitable[bytes]],
    reader_of: Callable[[bytes], ServiceHandshake | None],
) -> None:
    """Read until the protocol's reader has an answer, the peer closes, or _MAX_READ."""
    while answer.said is None and len(answer.data) < _MAX_READ:
        chunk = await recv()
        if not chunk:
            break
        answer.data += chunk[: _MAX_READ - len(answer.data)]
        answer.said = reader_of(answer.data)


async def handshake(
    protocol: ServiceProtocol, address: str, port: int, *, deadline: Deadline
) -> ServiceHandshake:
    """Connect to address:port, send the protocol's first message and read its answer,
    all before `deadline`. Never raises for network outcomes."""
    sent, reader_of = _PROTOCOLS[protocol]
    start = time.monotonic()
    waited = deadline.remaining()
    answer = _Answer()
    error: str | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(deadline.remaining()):
            reader, writer = await bind.open_connection(address, port)
            if sent:
                writer.write(sent)
                await writer.drain()
            await _read_answer(answer, lambda: reader.read(_MAX_READ), reader_of)
    except TimeoutError:
        pass  # silent (or an incomplete answer): the evidence says how long it waited
    except OSError as exc:
        error = os_error_text(exc)
    finally:
        if writer is not None:
            writer.transport.abort()
    return _evidence(protocol, address, port, answer, error, start=start, waited=waited)


# What a protocol spoken inside TLS leaves of the budget to the TLS exchange around it, so
# its own silence ends first and is its evidence, not the TLS exchange's timeout.
INSIDE_MARGIN_S = 0.05


async def handshake_inside(
    channel: TlsChannel,
    protocol: ServiceProtocol,
    address: str,
    port: int,
    *,
    deadline: Deadline,
) -> ServiceHandshake:
    """The protocol's first exchange inside an established TLS session (rediss://: PING
    after the handshake), before `deadline` less INSIDE_MARGIN_S. Never raises for
    network outcomes."""
    sent, reader_of = _PROTOCOLS[protocol]
    start = time.monotonic()
    waited = max(0.0, deadline.remaining() - INSIDE_MARGIN_S)
    answer = _Answer()
    error: str | None = None
    try:
        async with asyncio.timeout(waited):
            if sent:
                await channel.send(sent)
            await _read_answer(answer, channel.recv, reader_of)
    except TimeoutError:
        pass
    except OSError as exc:
        error = os_error_text(exc)
    return _evidence(protocol, address, port, answer, error, start=start, waited=waited)


def _evidence(
    protocol: ServiceProtocol,
    address: str,
    port: int,
    answer: _Answer,
    error: str | None,
    *,
    start: float,
    waited: float,
) -> ServiceHandshake:
    said, data = answer.said, answer.data
    if said is None:
        outcome: HandshakeOutcome
        if error is not None:
            outcome, text = ("closed" if data else "error"), error
        elif data:
            outcome, text = "mismatch", "an incomplete answer, then nothing"
        else:
            outcome, text = _nothing(time.monotonic() - start, waited)
        said = _said(protocol, data, outcome, text)
    return replace(
        said,
        address=address,
        port=port,
        elapsed_ms=round((time.monotonic() - start) * 1000.0, 2),
        waited_ms=round(waited * 1000.0, 2),
    )


def _nothing(took: float, waited: float) -> tuple[HandshakeOutcome, str]:
    """No byte came: a close before the deadline, or silence until it."""
    if took < waited * 0.95:
        return "closed", "the server closed the connection without a word"
    return "silent", f"no answer in {waited * 1000.0:.0f} ms"
