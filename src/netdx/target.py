"""Parse what the user typed into a `Target`, or refuse it with one clear line.

Accepted: `host:port`, `[v6addr]:port`, `host`, a bare IP address, and URLs whose scheme is
in `SCHEME_PORTS` (http, https, postgres, redis, mysql, tcp, udp, dns; a dns:// URL
names its question: `dns://SERVER[:PORT]/NAME?type=A`). Everything else is a
`TargetError` (exit 2): the string never reaches a shell, but a clear refusal beats a
confusing resolver error.
"""

from __future__ import annotations

import ipaddress

from netdx.errors import TargetError
from netdx.model.target import SCHEME_PORTS, Target

TYPE_CHECKING = False
if TYPE_CHECKING:
    from urllib.parse import SplitResult

# Patterns for `re`, imported (and each compiled, then cached) only for a name or a zone:
# an IP literal target with a port needs no regex, and `re` costs a check ~1.5 ms to import.
_LABEL = r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$"
_ZONE = r"^[A-Za-z0-9_.-]{1,15}$"
_MAX_INPUT = 2048


def parse_target(raw: str) -> Target:
    """Parse `raw` into a Target, or raise TargetError with a one-line reason."""
    shown = _shown(redact(raw))  # a password never reaches a message, whatever else is wrong
    if not raw:
        raise TargetError("empty target")
    if len(raw) > _MAX_INPUT:
        raise TargetError(f"target too long ({len(raw)} characters)")
    if any(c.isspace() or not c.isprintable() for c in raw):
        raise TargetError(f"bad target {shown}: contains whitespace or control characters")
    if "://" in raw:
        return _parse_url(raw)
    host, port = _split_host_port(raw, shown)
    host, literal = _check_host(host, shown)
    return Target(raw=raw, host=host, port=port, ip_literal=literal)


def _shown(raw: str) -> str:
    """The target as quoted in error messages: printable and bounded."""
    text = raw if len(raw) <= 80 else raw[:77] + "..."
    return repr(text)


def _split_host_port(raw: str, shown: str) -> tuple[str, int | None]:
    if raw.startswith("["):
        close = raw.find("]")
        if close < 0:
            raise TargetError(f"bad target {shown}: missing ']' after an IPv6 address")
        host, rest = raw[1:close], raw[close + 1 :]
        if not host:
            raise TargetError(f"bad target {shown}: empty address in brackets")
        if rest == "":
            return host, None
        if not rest.startswith(":"):
            raise TargetError(f"bad target {shown}: expected ':PORT' after ']'")
        return host, _parse_port(rest[1:], shown)
    if raw.count(":") > 1:
        # A bare IPv6 address without a port; with a port it must be in brackets.
        try:
            ipaddress.ip_address(raw)
        except ValueError:
            raise TargetError(
                f"bad target {shown}: an IPv6 address with a port needs brackets: [ADDR]:PORT"
            ) from None
        return raw, None
    if ":" in raw:
        host, _, port_text = raw.rpartition(":")
        if not host:
            raise TargetError(f"bad target {shown}: missing host before ':'")
        return host, _parse_port(port_text, shown)
    return raw, None


def port_number(text: str) -> int | None:
    """`text` as a TCP/UDP port (1-65535) when it is one to five ASCII digits, else None.
    The one port parser of every command: `int()` alone also takes '²', '８０', ' 80' and
    '80\n'."""
    if not _is_port_text(text):
        return None
    port = int(text)
    return port if 1 <= port <= 65535 else None


def _is_port_text(text: str) -> bool:
    """One to five ASCII digits (`[0-9]{1,5}`, the whole text)."""
    return 0 < len(text) <= 5 and text.isascii() and text.isdigit()


def _parse_port(text: str, shown: str) -> int:
    if not _is_port_text(text):
        raise TargetError(f"bad target {shown}: port must be a number from 1 to 65535")
    port = port_number(text)
    if port is None:
        raise TargetError(f"bad target {shown}: port {int(text)} is out of range 1-65535")
    return port


def _check_host(host: str, shown: str) -> tuple[str, bool]:
    """Return the canonical host and whether it is an IP literal."""
    addr_text, _, zone = host.partition("%")
    try:
        addr = ipaddress.ip_address(addr_text)
    except ValueError:
        addr = None
    if addr is not None:
        if zone and (addr.version != 6 or not _matches(_ZONE, zone)):
            raise TargetError(f"bad target {shown}: bad IPv6 zone '%{zone}'")
        return (f"{addr}%{zone}" if zone else str(addr)), True
    if zone:
        raise TargetError(f"bad target {shown}: '%' is only allowed in an IPv6 address")
    _check_name(host, shown)
    return host.lower(), False


def _matches(pattern: str, text: str) -> bool:
    import re

    return re.match(pattern, text) is not None


def _check_name(name: str, shown: str) -> None:
    bare = name[:-1] if name.endswith(".") else name
    if not bare:
        raise TargetError(f"bad target {shown}: empty host name")
    if len(bare) > 253:
        raise TargetError(f"bad target {shown}: host name longer than 253 characters")
    import re

    if re.fullmatch(r"[0-9.]+", bare):
        raise TargetError(f"bad target {shown}: not a valid IPv4 address")
    for label in bare.split("."):
        if not label:
            raise TargetError(f"bad target {shown}: empty label in host name")
        if len(label) > 63:
            raise TargetError(f"bad target {shown}: a DNS label is longer than 63 characters")
        if not re.match(_LABEL, label):
            raise TargetError(
                f"bad target {shown}: host names may contain only letters, digits, '-' and '_'"
            )


def _parse_url(raw: str) -> Target:
    shown = _shown(redact(raw))
    scheme = raw.split("://", 1)[0].lower()
    if scheme not in SCHEME_PORTS:
        known = ", ".join(sorted(SCHEME_PORTS))
        raise TargetError(f"bad target {shown}: unsupported scheme '{scheme}' (use {known})")
    # urllib.parse (~2.5 ms) only for a URL target: host:PORT is split without it.
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        # urlsplit quotes what it could not read, which may be a piece of the password.
        why = str(exc) if redact(raw) == raw else "the user, host or port part cannot be read"
        raise TargetError(f"bad target {shown}: {why}") from None
    netloc_host = _url_host(parts, shown)
    host, literal = _check_host(netloc_host, shown)
    if port is None:
        port = SCHEME_PORTS[scheme]
    if port == 0:
        raise TargetError(f"bad target {shown}: {scheme}:// needs a port, e.g. {scheme}://host:1234")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    name, rtype = _dns_question(parts, shown) if scheme == "dns" else (None, "A")
    return Target(
        raw=redact(raw), host=host, port=port, scheme=scheme, path=path, ip_literal=literal,
        query_name=name, query_type=rtype,
    )


def _dns_question(parts: SplitResult, shown: str) -> tuple[str, str]:
    """The question of `dns://SERVER[:PORT]/NAME[?type=T]`: NAME checked like a host name,
    T a type the DNS codec knows (A by default; OPT is no question)."""
    from netdx.dns.message import TYPES  # the one table of record types

    name = parts.path.lstrip("/")
    if not name:
        raise TargetError(f"bad target {shown}: dns:// needs a name: dns://SERVER/NAME?type=A")
    _check_name(name, shown)
    rtype = "A"
    for key, _, value in (item.partition("=") for item in parts.query.split("&") if item):
        if key.lower() != "type":
            raise TargetError(f"bad target {shown}: unknown dns:// option '{key}' (use type=)")
        rtype = value.upper()
    if rtype not in TYPES or rtype == "OPT":
        known = ", ".join(t for t in TYPES if t != "OPT")
        raise TargetError(f"bad target {shown}: query type '{rtype}' is not one of {known}")
    return name.lower(), rtype


def _url_host(parts: SplitResult, shown: str) -> str:
    netloc = parts.netloc.rpartition("@")[2]
    if not netloc:
        raise TargetError(f"bad target {shown}: missing host")
    if netloc.startswith("["):
        host = netloc[1 : netloc.find("]")] if "]" in netloc else ""
    else:
        host = netloc.rpartition(":")[0] if ":" in netloc else netloc
    if not host:
        raise TargetError(f"bad target {shown}: missing host")
    return host


def redact(raw: str) -> str:
    """Hide the password of user:password@host so it never lands in output.

    Everything up to the last '@' after the scheme counts as the user part, as urlsplit
    reads the netloc, and also when the password holds a '/' or '@' the URL syntax does not
    allow there: a mistyped URL is exactly the one printed in an error. A URL whose path
    holds an '@' after an explicit port is over-redacted; that only hides text, never
    shows a secret."""
    head, sep, rest = raw.partition("://")
    at = rest.rfind("@")
    if not sep or at < 0:
        return raw
    user, colon, _ = rest[:at].partition(":")
    if not colon or any(c in user for c in "/?#"):
        return raw
    return f"{head}://{user}:***@{rest[at + 1 :]}"
