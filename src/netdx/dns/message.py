"""DNS messages on the wire: build a query, parse a response. Pure, stdlib only.

netdx's own codec (RFC 1035, EDNS0 from RFC 6891, SRV, AAAA): it replaced dnspython,
whose import alone cost ~80 ms of every `netdx check` that asked a server. Record values
come out in dig's presentation format (A, AAAA, NS, CNAME, DNAME, PTR, MX, TXT, SOA, SRV,
CAA, DS, SSHFP, NAPTR; any other type in RFC 3597's generic `\\# LEN HEX`).

Everything is bounded: compression pointers must point backwards (no loops), names stay
within 255 bytes, and bytes past the last record are an error. `WireError` says why bytes
are not a DNS message; nothing else escapes `parse_response`.
"""

from __future__ import annotations

import ipaddress
import struct

from netdx.model.dns import DnsMessage, DnsQuestion, DnsRecord, DnsStatus

# dig's order for the header flags, with their bits.
FLAG_BITS = (("qr", 0x8000), ("aa", 0x0400), ("tc", 0x0200), ("rd", 0x0100), ("ra", 0x0080),
             ("ad", 0x0020), ("cd", 0x0010))
EDNS_PAYLOAD = 1232  # what dig and the DNS flag day 2020 advise

TYPES = {
    "A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "HINFO": 13, "MX": 15, "TXT": 16,
    "AAAA": 28, "SRV": 33, "NAPTR": 35, "DNAME": 39, "OPT": 41, "DS": 43, "SSHFP": 44,
    "RRSIG": 46, "NSEC": 47, "DNSKEY": 48, "TLSA": 52, "SVCB": 64, "HTTPS": 65, "ANY": 255,
    "CAA": 257,
}
TYPE_NAMES = {number: name for name, number in TYPES.items()}
CLASSES = {"IN": 1, "CH": 3, "HS": 4, "ANY": 255}
CLASS_NAMES = {number: name for name, number in CLASSES.items()}
RCODES = ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
          "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE")
_EXTENDED_RCODES = {16: "BADVERS"}
_RCODE_STATUS: dict[str, DnsStatus] = {
    "NXDOMAIN": "nxdomain", "SERVFAIL": "servfail", "REFUSED": "refused",
}
# Characters dig escapes with a backslash in names and in character strings.
_NAME_SPECIAL = frozenset(b'"().;\\@$')
_TEXT_SPECIAL = frozenset(b'"\\')


class WireError(ValueError):
    """Bytes that are not a DNS message (raised by `parse_response`, caught by the caller)."""


# --- building a query -------------------------------------------------------------------------


def ascii_name(name: str) -> str:
    """A name as the user typed it (Unicode allowed) in its ASCII (IDNA) form, keeping a
    final dot; ValueError unless it fits on the wire (labels of 1-63 bytes, 253 in all, no
    whitespace). "." is the root."""
    if name == ".":
        return name
    bare = name.rstrip(".")
    try:
        # An ASCII name is what the IDNA codec would give for it (the label checks are
        # below); the codec, with unicodedata and stringprep, loads only for Unicode.
        wire = bare.encode("ascii") if bare.isascii() else bare.encode("idna")
    except UnicodeError:
        raise ValueError(f"not a DNS name: {name!r}") from None
    labels = wire.split(b".")
    if len(wire) > 253 or any(not 0 < len(label) <= 63 for label in labels):
        raise ValueError(f"not a DNS name: {name!r}")
    if any(c.isspace() for c in name):
        raise ValueError(f"not a DNS name: {name!r}")
    return wire.decode("ascii") + ("." if name.endswith(".") else "")


def encode_name(name: str) -> bytes:
    """`name` (absolute or not, `\\.` and `\\DDD` escapes allowed) in wire form.
    ValueError for an empty label, a label over 63 bytes or a name over 255."""
    if name in (".", ""):
        return b"\x00"
    out = bytearray()
    for label in _labels(name.removesuffix(".") if not name.endswith("\\.") else name):
        if not 0 < len(label) <= 63:
            raise ValueError(f"bad label in {name!r}")
        out += bytes([len(label)]) + label
    out += b"\x00"
    if len(out) > 255:
        raise ValueError(f"name longer than 255 bytes: {name[:40]}...")
    return bytes(out)


def _labels(text: str) -> list[bytes]:
    labels: list[bytes] = []
    current = bytearray()
    i = 0
    raw = text.encode("ascii")
    while i < len(raw):
        c = raw[i]
        if c == 0x5C and i + 1 < len(raw):  # backslash: \DDD or \X
            digits = raw[i + 1:i + 4]
            if len(digits) == 3 and digits.isascii() and digits.isdigit() and int(digits) < 256:
                current.append(int(digits))
                i += 4
                continue
            current.append(raw[i + 1])
            i += 2
            continue
        if c == 0x2E:
            labels.append(bytes(current))
            current = bytearray()
        else:
            current.append(c)
        i += 1
    labels.append(bytes(current))
    return labels


def rtype_number(rtype: str) -> int:
    """The number of a type name (A, MX, TYPE65534); ValueError when unknown."""
    if rtype in TYPES:
        return TYPES[rtype]
    if rtype.startswith("TYPE") and rtype[4:].isdigit():
        return int(rtype[4:])
    raise ValueError(f"unknown record type {rtype!r}")


def build_query(question: DnsQuestion, *, msg_id: int, recursion_desired: bool,
                edns: bool = True) -> bytes:
    """The wire form of a query, as dig sends it: EDNS0 with a 1232-byte payload (without
    EDNS, as glibc's stub resolver asks unless resolv.conf says `options edns0`).
    ValueError when the name cannot be put on the wire."""
    flags = 0x0100 if recursion_desired else 0
    header = struct.pack("!HHHHHH", msg_id, flags, 1, 0, 0, 1 if edns else 0)
    qclass = CLASSES.get(question.rclass, 1)
    body = encode_name(question.name) + struct.pack("!HH", rtype_number(question.rtype), qclass)
    opt = b"\x00" + struct.pack("!HHIH", TYPES["OPT"], EDNS_PAYLOAD, 0, 0) if edns else b""
    return header + body + opt


# --- parsing a response -----------------------------------------------------------------------


def parse_response(wire: bytes) -> DnsMessage:
    """Parse wire bytes into a `DnsMessage`; `WireError` says why they are not a message.

    Bad compression pointers, truncated sections and trailing junk are all `WireError`.
    """
    try:
        return _Parser(wire).message()
    except (IndexError, struct.error, ValueError, UnicodeError) as exc:
        if isinstance(exc, WireError):
            raise
        raise WireError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc


class _Parser:
    """A cursor over one message; every read is bounds-checked by `_take`."""

    def __init__(self, wire: bytes) -> None:
        self.wire = wire
        self.at = 0

    def _take(self, size: int) -> bytes:
        if self.at + size > len(self.wire):
            raise WireError(f"message ends at byte {len(self.wire)}, needed {self.at + size}")
        data = self.wire[self.at:self.at + size]
        self.at += size
        return data

    def _u16(self) -> int:
        value: int = struct.unpack("!H", self._take(2))[0]
        return value

    def message(self) -> DnsMessage:
        msg_id, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", self._take(12))
        question = tuple(self._question() for _ in range(qd))
        answer = tuple(self._record() for _ in range(an))
        authority = tuple(self._record() for _ in range(ns))
        additional_all = [self._record_or_opt() for _ in range(ar)]
        if self.at != len(self.wire):
            raise WireError(f"{len(self.wire) - self.at} bytes after the last record")
        opt = next((o for o in additional_all if isinstance(o, tuple)), None)
        rcode_number = flags & 0x000F
        payload = None
        if opt is not None:
            payload, extended = opt
            rcode_number |= extended << 4
        return DnsMessage(
            id=msg_id,
            rcode=rcode_name(rcode_number),
            flags=tuple(name for name, bit in FLAG_BITS if flags & bit),
            question=question,
            answer=answer,
            authority=authority,
            additional=tuple(r for r in additional_all if isinstance(r, DnsRecord)),
            edns_payload=payload,
            size=len(self.wire),
        )

    def _question(self) -> DnsQuestion:
        name = self.name()
        rtype, rclass = struct.unpack("!HH", self._take(4))
        return DnsQuestion(name=name.lower(), rtype=type_name(rtype),
                           rclass=CLASS_NAMES.get(rclass, f"CLASS{rclass}"))

    def _record_or_opt(self) -> DnsRecord | tuple[int, int]:
        start = self.at
        self.name()
        if self._u16() == TYPES["OPT"]:
            payload = self._u16()
            extended = self._take(1)[0]
            self._take(3)  # version and flags (DO)
            self._take(self._u16())  # options: nothing netdx reads
            return payload, extended
        self.at = start
        return self._record()

    def _record(self) -> DnsRecord:
        owner = self.name()
        rtype, _rclass, ttl, size = struct.unpack("!HHIH", self._take(10))
        end = self.at + size
        if end > len(self.wire):
            raise WireError(f"record data runs past the end of the message ({size} bytes)")
        value = _rdata_text(self, type_name(rtype), end)
        if self.at != end:
            read = self.at - end + size
            raise WireError(f"{type_name(rtype)} record data is {size} bytes, read {read}")
        return DnsRecord(name=owner.lower(), rtype=type_name(rtype), ttl=ttl, value=value)

    def name(self) -> str:
        """A possibly compressed name at the cursor, as dig writes it (absolute)."""
        labels: list[str] = []
        total = 0
        at = self.at
        jumped = False
        while True:
            if at >= len(self.wire):
                raise WireError("name runs past the end of the message")
            length = self.wire[at]
            if length & 0xC0 == 0xC0:
                if at + 1 >= len(self.wire):
                    raise WireError("compression pointer cut short")
                target = ((length & 0x3F) << 8) | self.wire[at + 1]
                if target >= at:  # only backwards: a pointer can never loop
                    raise WireError(f"compression pointer at {at} points forward to {target}")
                if not jumped:
                    self.at = at + 2
                    jumped = True
                at = target
                continue
            if length & 0xC0:
                raise WireError(f"unknown label type {length:#04x} at {at}")
            at += 1
            if length == 0:
                break
            label = self.wire[at:at + length]
            if len(label) != length:
                raise WireError("label runs past the end of the message")
            total += length + 1
            if total > 255:
                raise WireError("name longer than 255 bytes")
            labels.append(_escape(label, _NAME_SPECIAL))
            at += length
        if not jumped:
            self.at = at
        return ".".join(labels) + "." if labels else "."

    def character_string(self) -> str:
        size = self._take(1)[0]
        return '"' + _escape(self._take(size), _TEXT_SPECIAL, space_ok=True) + '"'


def _escape(raw: bytes, special: frozenset[int], *, space_ok: bool = False) -> str:
    out: list[str] = []
    for byte in raw:
        if byte in special:
            out.append("\\" + chr(byte))
        elif 0x21 <= byte < 0x7F or (space_ok and byte == 0x20):
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


def _rdata_text(p: _Parser, rtype: str, end: int) -> str:
    """One record's data in presentation format; the cursor ends at `end`."""
    if rtype == "A":
        return str(ipaddress.IPv4Address(p._take(4)))
    if rtype == "AAAA":
        return str(ipaddress.IPv6Address(p._take(16)))
    if rtype in ("NS", "CNAME", "DNAME", "PTR"):
        return p.name()
    if rtype == "MX":
        return f"{p._u16()} {p.name()}"
    if rtype == "SRV":
        priority, weight, port = struct.unpack("!HHH", p._take(6))
        return f"{priority} {weight} {port} {p.name()}"
    if rtype == "SOA":
        mname, rname = p.name(), p.name()
        return " ".join([mname, rname, *map(str, struct.unpack("!IIIII", p._take(20)))])
    if rtype in ("TXT", "HINFO"):
        strings = []
        while p.at < end:
            strings.append(p.character_string())
        return " ".join(strings)
    if rtype == "CAA":
        flags, tag_size = p._take(1)[0], p._take(1)[0]
        tag = p._take(tag_size).decode("ascii")
        value = _escape(p._take(end - p.at), _TEXT_SPECIAL, space_ok=True)
        return f'{flags} {tag} "{value}"'
    if rtype in ("DS", "SSHFP"):
        head = p._take(4 if rtype == "DS" else 2)
        numbers = struct.unpack("!HBB" if rtype == "DS" else "!BB", head)
        return " ".join([*map(str, numbers), p._take(end - p.at).hex()])
    if rtype == "NAPTR":
        order, pref = struct.unpack("!HH", p._take(4))
        texts = [p.character_string() for _ in range(3)]
        return " ".join([str(order), str(pref), *texts, p.name()])
    data = p._take(end - p.at)
    return f"\\# {len(data)} {data.hex()}" if data else "\\# 0"


def type_name(number: int) -> str:
    """A, MX... for a type number; TYPE<n> when netdx has no name for it."""
    return TYPE_NAMES.get(number, f"TYPE{number}")


def rcode_name(number: int) -> str:
    """NOERROR, NXDOMAIN... for an rcode (EDNS extended ones included); the number if unknown."""
    if number < len(RCODES):
        return RCODES[number]
    return _EXTENDED_RCODES.get(number, str(number))


# --- what a response means --------------------------------------------------------------------


def status_of(message: DnsMessage, rtype: str) -> tuple[DnsStatus, str | None]:
    """What a response says for `rtype`: ok when the answer section holds a record of that
    type, nodata for NOERROR without one, nxdomain/servfail/refused, else an error naming
    the rcode."""
    if message.rcode == "NOERROR":
        found = any(r.rtype == rtype for r in message.answer) or (
            rtype == "ANY" and bool(message.answer))
        return ("ok" if found else "nodata"), None
    if message.rcode in _RCODE_STATUS:
        return _RCODE_STATUS[message.rcode], None
    return "error", f"rcode {message.rcode}"


def answers_question(response: DnsMessage, question: DnsQuestion, msg_id: int) -> str | None:
    """Why `response` is not the answer to our query (None when it is).

    A response must carry our ID, the QR bit and our question (RFC 5452: anything else may
    be spoofed or late, and a resolver ignores it).
    """
    if response.id != msg_id:
        return f"wrong ID {response.id:#06x} (asked {msg_id:#06x})"
    if "qr" not in response.flags:
        return "QR bit not set (a query, not a response)"
    name = question.name.lower()
    wanted = (name if name.endswith(".") else name + ".", question.rtype, question.rclass)
    got = [(q.name, q.rtype, q.rclass) for q in response.question]
    if got and got != [wanted]:
        return f"question {got[0][0]} {got[0][1]} does not match {question.name} {question.rtype}"
    return None
