"""TLS details of a handshake, and the server's certificate read without verifying it.

`openssl s_client` in a few lines: the negotiated version and cipher, and the certificate's
subject, issuer, validity and names. When verification fails, the failed handshake leaves
nothing to read, so `peek_certificate` makes a second handshake that verifies nothing, under
the same deadline, and reads the certificate from it: the rules then tell an expired
certificate from one for another name (`netdx.diagnose.protocols`).

The certificate is parsed from its DER bytes (`parse_certificate`, pure, stdlib only, tested
on captured certificates): `getpeercert()` returns nothing for an unverified peer.
"""

from __future__ import annotations

import asyncio
import calendar
import ipaddress
import ssl
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from netdx.budget import Deadline
from netdx.model.service import TlsDetails
from netdx.probes import bind

_SEQUENCE, _SET, _OID, _OCTETS, _UTCTIME, _GENTIME = 0x30, 0x31, 0x06, 0x04, 0x17, 0x18
_SAN_OID = "2.5.29.17"
_DNS_NAME, _IP_ADDRESS = 0x82, 0x87  # GeneralName [2] dNSName, [7] iPAddress (implicit)
_ATTRIBUTES = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "1.2.840.113549.1.9.1": "emailAddress",
}


class CertificateError(ValueError):
    """The bytes are not a DER certificate this parser can read."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Certificate:
    """What a certificate says about itself (times in UNIX seconds)."""

    subject: str
    issuer: str
    not_before: float
    not_after: float
    names: tuple[str, ...]


def _element(data: bytes, pos: int) -> tuple[int, int, int]:
    """The DER element at `pos`: its tag, where its content starts and where it ends."""
    if pos + 2 > len(data):
        raise CertificateError("truncated element")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise CertificateError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise CertificateError("element runs past the end")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    items = []
    while start < end:
        item = _element(data, start)
        items.append(item)
        start = item[2]
    return items


def _oid(raw: bytes) -> str:
    if not raw:
        raise CertificateError("empty OID")
    parts = [raw[0] // 40, raw[0] % 40]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def _name(data: bytes, start: int, end: int) -> str:
    """A Name as `CN=..., O=...` in the certificate's own order."""
    out = []
    for tag, s, e in _children(data, start, end):
        if tag != _SET:
            raise CertificateError("a Name holds SETs")
        for _, as_start, as_end in _children(data, s, e):
            (otag, os_, oe), (_, vs, ve) = _children(data, as_start, as_end)[:2]
            if otag != _OID:
                raise CertificateError("attribute without a type")
            key = _oid(data[os_:oe])
            value = data[vs:ve].decode("utf-8", "replace")
            out.append(f"{_ATTRIBUTES.get(key, key)}={value}")
    return ", ".join(out)


def _time(tag: int, raw: bytes) -> float:
    text = raw.decode("ascii", "replace").rstrip("Z")
    if tag == _UTCTIME:
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != _GENTIME:
        raise CertificateError("validity is not a time")
    try:
        parsed = time.strptime(text[:14], "%Y%m%d%H%M%S")
    except ValueError:
        raise CertificateError(f"bad time {raw!r}") from None
    return float(calendar.timegm(parsed))


def _alt_names(data: bytes, start: int, end: int) -> tuple[str, ...]:
    """The DNS names and IP addresses of a subjectAltName extension, in order."""
    names: list[str] = []
    for tag, s, e in _children(data, start, end):
        if tag == _DNS_NAME:
            names.append(data[s:e].decode("ascii", "replace"))
        elif tag == _IP_ADDRESS and e - s in (4, 16):
            names.append(str(ipaddress.ip_address(data[s:e])))
    return tuple(names)


def _extensions(data: bytes, start: int, end: int) -> tuple[str, ...]:
    """subjectAltName's names from the [3] extensions of a TBSCertificate."""
    (_, s, e), *_ = _children(data, start, end)  # [3] EXPLICIT wraps one SEQUENCE
    for _, xs, xe in _children(data, s, e):
        parts = _children(data, xs, xe)
        otag, os_, oe = parts[0]
        vtag, vs, _ = parts[-1]
        if otag == _OID and vtag == _OCTETS and _oid(data[os_:oe]) == _SAN_OID:
            _, ss, se = _element(data, vs)
            return _alt_names(data, ss, se)
    return ()


def parse_certificate(der: bytes) -> Certificate:
    """Subject, issuer, validity and subjectAltName of a DER X.509 certificate."""
    tag, start, end = _element(der, 0)
    if tag != _SEQUENCE:
        raise CertificateError("not a certificate")
    tag, start, end = _element(der, start)  # TBSCertificate
    if tag != _SEQUENCE:
        raise CertificateError("no TBSCertificate")
    fields = _children(der, start, end)
    if fields and fields[0][0] == 0xA0:  # [0] version
        fields = fields[1:]
    if len(fields) < 6:
        raise CertificateError("TBSCertificate too short")
    _serial, _algorithm, issuer, validity, subject = fields[:5]
    times = _children(der, validity[1], validity[2])
    if len(times) != 2:
        raise CertificateError("validity needs two times")
    names: tuple[str, ...] = ()
    for field in fields[6:]:
        if field[0] == 0xA3:
            names = _extensions(der, field[1], field[2])
    return Certificate(
        subject=_name(der, subject[1], subject[2]),
        issuer=_name(der, issuer[1], issuer[2]),
        not_before=_time(times[0][0], der[times[0][1] : times[0][2]]),
        not_after=_time(times[1][0], der[times[1][1] : times[1][2]]),
        names=names,
    )


def tls_details(
    tls: ssl.SSLObject | ssl.SSLSocket,
    *,
    name_asked: str,
    verified: bool,
    verify_error: str | None = None,
    verify_code: int | None = None,
) -> TlsDetails:
    """The details of an established TLS connection `tls`."""
    cipher = tls.cipher()
    der = tls.getpeercert(binary_form=True)
    cert: Certificate | None = None
    if der:
        try:
            cert = parse_certificate(der)
        except CertificateError:
            cert = None  # an unreadable certificate: the version and cipher still count
    return TlsDetails(
        name_asked=name_asked,
        version=tls.version(),
        cipher=cipher[0] if cipher else None,
        subject=cert.subject if cert else None,
        issuer=cert.issuer if cert else None,
        not_before=cert.not_before if cert else None,
        not_after=cert.not_after if cert else None,
        names=cert.names if cert else (),
        verified=verified,
        verify_error=verify_error,
        verify_code=verify_code,
        checked_at=time.time(),
    )


def verification_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure inside `exc`, if that is what it is."""
    inner = getattr(exc, "os_error", exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return exc
    return inner if isinstance(inner, ssl.SSLCertVerificationError) else None


# The first bytes of the port's answer quoted in the evidence (a plain-text banner).
QUOTE_BYTES = 64
_READ_CHUNK = 16 * 1024


class NotOffered(ConnectionError):
    """The protocol's preface was answered with no TLS: postgres' SSLRequest got `answer`;
    mysql's greeting lacked CLIENT_SSL (`answer` b"N") or was no greeting (its bytes)."""

    def __init__(self, answer: bytes, protocol: str = "postgres") -> None:
        super().__init__(f"{protocol} preface answered {answer!r}")
        self.answer = answer
        self.protocol = protocol


# mysql: the capability bit a greeting sets when the server can switch to TLS, and the
# SSLRequest that asks it to (a HandshakeResponse41 cut after its character set: capability
# flags CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION,
# max packet 16 MiB, utf8mb4, 23 zero bytes), sent as packet 1.
MYSQL_CLIENT_SSL = 0x0800
_MYSQL_SSL_REQUEST_BODY = struct.pack("<IIB23x", 0x1 | 0x200 | 0x800 | 0x8000, 1 << 24, 45)
MYSQL_SSL_REQUEST = len(_MYSQL_SSL_REQUEST_BODY).to_bytes(3, "little") + b"\x01" + (
    _MYSQL_SSL_REQUEST_BODY
)
_MYSQL_GREETING_MAX = 64 * 1024  # a greeting is ~100 bytes; a larger length is no greeting


def mysql_offers_tls(payload: bytes) -> bool:
    """Does a mysql greeting (protocol 10: version NUL-terminated, connection id, 8 bytes of
    auth data, a filler, the capability flags' lower half) offer TLS? NotOffered with the
    bytes when the payload is no greeting (an error packet: "Host … is not allowed")."""
    nul = payload.find(b"\0", 1)
    flags_at = nul + 1 + 4 + 8 + 1
    if not payload or payload[0] != 10 or nul < 0 or len(payload) < flags_at + 2:
        raise NotOffered(payload[:QUOTE_BYTES] or b"", protocol="mysql")
    return bool(int.from_bytes(payload[flags_at : flags_at + 2], "little") & MYSQL_CLIENT_SSL)


async def _mysql_preface(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read mysql's greeting and, when it offers TLS, send the SSLRequest that switches to it."""
    try:
        head = await reader.readexactly(4)
        length = int.from_bytes(head[:3], "little")
        if length > _MYSQL_GREETING_MAX:
            raise NotOffered(head, protocol="mysql")
        payload = await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise NotOffered(exc.partial[:QUOTE_BYTES], protocol="mysql") from None
    if not mysql_offers_tls(payload):
        raise NotOffered(b"N", protocol="mysql")
    writer.write(MYSQL_SSL_REQUEST)
    await writer.drain()


@dataclass(slots=True)
class Progress:
    """What one TLS session has shown so far; kept when it fails half way (mutable on
    purpose: the session fills it in as it goes). Times are monotonic seconds."""

    start: float
    connected: float | None = None
    tls_started: float | None = None
    done: float | None = None
    received: bytes = b""  # the first bytes the port sent during the handshake


@dataclass(slots=True)
class TlsChannel:
    """An established TLS session over asyncio streams, through memory BIOs: `send` and
    `recv` carry the bytes of a protocol spoken inside it (redis' PING for rediss://)."""

    tls: ssl.SSLObject
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    incoming: ssl.MemoryBIO
    outgoing: ssl.MemoryBIO

    async def flush(self) -> None:
        pending = self.outgoing.read()
        if pending:
            self.writer.write(pending)
            await self.writer.drain()

    async def send(self, data: bytes) -> None:
        self.tls.write(data)
        await self.flush()

    async def recv(self) -> bytes:
        """The next bytes of the peer's application data; b"" once it closed."""
        while True:
            try:
                return self.tls.read(_READ_CHUNK)
            except ssl.SSLWantReadError:
                await self.flush()
            except ssl.SSLZeroReturnError:
                return b""
            chunk = await self.reader.read(_READ_CHUNK)
            if not chunk:
                return b""
            self.incoming.write(chunk)


async def handshake_on(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    ctx: ssl.SSLContext,
    name: str,
    progress: Progress,
) -> TlsChannel:
    """The TLS handshake over an open stream, through memory BIOs rather than
    `start_tls`: the raw bytes the port sends stay visible, so a plain-text banner is
    quoted instead of only OpenSSL's "wrong version number". `name` is the SNI and the
    name checked (an IP literal: no SNI, the address is checked against the IP names)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=name)
    channel = TlsChannel(tls=tls, reader=reader, writer=writer, incoming=incoming,
                         outgoing=outgoing)  # fmt: skip
    progress.tls_started = time.monotonic()
    while True:
        try:
            tls.do_handshake()
            done = True
        except ssl.SSLWantReadError:
            done = False
        await channel.flush()
        if done:
            progress.done = time.monotonic()
            return channel
        chunk = await reader.read(_READ_CHUNK)
        if len(progress.received) < QUOTE_BYTES:
            progress.received += chunk[: QUOTE_BYTES - len(progress.received)]
        if not chunk:
            raise ConnectionAbortedError("the server closed the connection during the handshake")
        incoming.write(chunk)


async def open_session(
    address: str,
    port: int,
    *,
    ctx: ssl.SSLContext,
    name: str,
    progress: Progress,
    preface: str | None = None,
    then: Callable[[TlsChannel], Awaitable[None]] | None = None,
) -> ssl.SSLObject:
    """Connect (from the run's --source/--interface), speak the protocol's way into TLS
    first when there is one (postgres' SSLRequest, answered 'S'; mysql's greeting with
    CLIENT_SSL, then its SSLRequest; NotOffered otherwise), then the TLS handshake, then
    `then` on the session (a protocol spoken inside it). The caller bounds it with its
    deadline; the socket is closed however it ends."""
    from netdx.probes.protocols import SSL_REQUEST

    writer: asyncio.StreamWriter | None = None
    try:
        reader, writer = await bind.open_connection(address, port)
        progress.connected = time.monotonic()
        if preface == "mysql":
            await _mysql_preface(reader, writer)
        if preface == "postgres":
            writer.write(SSL_REQUEST)
            await writer.drain()
            answer = await reader.read(1)
            if answer != b"S":
                raise NotOffered(answer)
        channel = await handshake_on(reader, writer, ctx, name, progress)
        if then is not None:
            await then(channel)
        return channel.tls
    finally:
        if writer is not None:
            # Abort rather than close: a TLS close waits for the peer's close_notify.
            writer.transport.abort()


async def peek_certificate(
    address: str,
    port: int,
    *,
    name_asked: str,
    failure: ssl.SSLCertVerificationError,
    deadline: Deadline,
    preface: str | None = None,
) -> TlsDetails:
    """A second handshake that verifies nothing (same SNI, same preface), to read what the
    certificate that failed verification says; only the failure's text when even that fails."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    message = failure.verify_message or str(failure)
    try:
        async with asyncio.timeout(deadline.remaining()):
            tls = await open_session(
                address,
                port,
                ctx=ctx,
                name=name_asked,
                progress=Progress(start=time.monotonic()),
                preface=preface,
            )
        return tls_details(
            tls,
            name_asked=name_asked,
            verified=False,
            verify_error=message,
            verify_code=failure.verify_code,
        )
    except (TimeoutError, OSError):
        pass  # the first handshake's failure is the evidence then
    return TlsDetails(
        name_asked=name_asked,
        verify_error=message,
        verify_code=failure.verify_code,
        checked_at=time.time(),
    )
