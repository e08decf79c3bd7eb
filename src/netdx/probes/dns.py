"""The DNS probe: what the application gets (getaddrinfo) and what every configured server says.

Two views of one name, run concurrently by `resolve()`:

- `system_resolve()` calls getaddrinfo() exactly as a Python application does (flags 0,
  SOCK_STREAM), so /etc/hosts, nsswitch.conf and resolv.conf all apply.
- `query_servers()` asks each nameserver itself, for A and AAAA, with the stub resolver's
  search-list rules, and keeps each server's answer with TTLs: the evidence that tells a
  stale /etc/hosts line, a lagging server or a missing record apart.

glibc 2.36 facts the code relies on (checked in a namespace, see the lab tests):

- A name that exists with no A/AAAA record (NOERROR, empty answer) makes getaddrinfo fail
  with EAI_NODATA ("no_address"), for AF_UNSPEC, AF_INET and AF_INET6 alike; NXDOMAIN
  gives EAI_NONAME ("nxdomain"). Other NSS modules (systemd-resolved, older glibc) may
  say EAI_NONAME for both: the servers' answers (`nodata` vs `nxdomain`) decide.
- A server that answers with ICMP port unreachable or REFUSED (even for just one name of
  the search walk) makes getaddrinfo fail with EAI_AGAIN ("again"), not EAI_NONAME.

dnspython and the getaddrinfo thread are imported / started lazily: `netdx --help` must not
pay for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netdx.budget import Deadline, elapsed_ms
from netdx.model.evidence import (
    AddressSource,
    DnsEvidence,
    DnsRecord,
    DnsServerAnswer,
    DnsStatus,
    Family,
    NssResult,
    NssStatus,
)
from netdx.probes import hostsfile

if TYPE_CHECKING:
    import dns.message

DNS_PORT = 53
MAXNS = 3  # glibc uses the first three nameserver lines only
MAX_NDOTS = 15  # glibc caps options ndots:n at 15
FIRST_RETRY_S = 1.0  # UDP retransmission: after 1 s, then 2 s, 4 s... within the deadline

_GAI_STATUS: dict[str, NssStatus] = {
    "EAI_NONAME": "nxdomain",
    "EAI_NODATA": "no_address",
    "EAI_ADDRFAMILY": "no_address",
    "EAI_AGAIN": "again",
}
_RCODE_STATUS: dict[str, DnsStatus] = {
    "NXDOMAIN": "nxdomain",
    "SERVFAIL": "servfail",
    "REFUSED": "refused",
}
_NAME_TYPES = frozenset({"CNAME", "DNAME", "NS", "PTR"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvConf:
    """The parts of resolv.conf the stub resolver uses to pick names and servers."""

    nameservers: tuple[str, ...]
    search: tuple[str, ...] = ()
    ndots: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsQueryResult:
    """Every server's answers, plus the configuration they were asked under."""

    answers: tuple[DnsServerAnswer, ...]
    configured_servers: tuple[str, ...]
    search: tuple[str, ...]


# --- pure parts -----------------------------------------------------------------------------


def parse_resolv_conf(text: str, *, hostname: str = "") -> ResolvConf:
    """Read resolv.conf like glibc's res_init: the last `domain`/`search` line wins, at most
    three nameservers, `options ndots:n` (capped at 15). Without a nameserver line glibc
    asks 127.0.0.1; without domain/search it searches the domain of `hostname`."""
    servers: list[str] = []
    search: tuple[str, ...] | None = None
    ndots = 1
    for line in text.split("\n"):
        keyword, _, rest = line.replace("\t", " ").partition(" ")
        values = rest.split()
        if keyword == "nameserver" and values and len(servers) < MAXNS:
            if _valid_server_address(values[0]):
                servers.append(values[0])
        elif keyword == "domain" and values:
            search = (values[0],)
        elif keyword == "search" and values:
            search = tuple(values)
        elif keyword == "options":
            ndots = _ndots_option(values, ndots)
    if search is None:
        _, dot, domain = hostname.partition(".")
        search = (domain,) if dot and domain else ()
    return ResolvConf(
        nameservers=tuple(servers) or ("127.0.0.1",),
        search=tuple(d.rstrip(".") for d in search if d.rstrip(".")),
        ndots=ndots,
    )


def search_candidates(name: str, *, search: tuple[str, ...], ndots: int) -> tuple[str, ...]:
    """The names the stub resolver asks for `name`, in order (glibc res_nsearch).

    A trailing dot means "absolute": only the name itself. Otherwise a name with at least
    `ndots` dots is tried as-is first, then with each search suffix; a shorter one tries
    the suffixes first and itself last. Returned without the final dot.
    """
    if name.endswith("."):
        return (name.rstrip("."),)
    expanded = tuple(f"{name}.{domain}" for domain in search)
    if name.count(".") >= ndots:
        return (name, *expanded)
    return (*expanded, name)


def parse_server(spec: str) -> tuple[str, int]:
    """`ADDR` or `ADDR#PORT` (dig's notation) → (address, port). ValueError when invalid."""
    address, _, port_text = spec.partition("#")
    if not _valid_server_address(address):
        raise ValueError(f"not an IP address: {address!r}")
    port = int(port_text) if port_text else DNS_PORT
    if not 0 < port < 65536:
        raise ValueError(f"bad port: {port_text!r}")
    return address, port


def answer_from_response(
    response: dns.message.Message, *, server: str, qname: str, rtype: str, elapsed: float
) -> DnsServerAnswer:
    """Turn one server response into evidence: the status from the rcode and whether the
    answer section holds a record of the asked type (NOERROR without one is `nodata`)."""
    import dns.rcode

    records = _records(response)
    rcode = dns.rcode.to_text(response.rcode())
    status: DnsStatus
    error = None
    if rcode == "NOERROR":
        status = "ok" if any(r.rtype == rtype for r in records) else "nodata"
    elif rcode in _RCODE_STATUS:
        status = _RCODE_STATUS[rcode]
    else:
        status, error = "error", f"rcode {rcode}"
    return DnsServerAnswer(
        server=server,
        qname=qname,
        rtype=rtype,
        status=status,
        records=records,
        error=error,
        elapsed_ms=elapsed,
    )


def pick_answer(tried: list[DnsServerAnswer]) -> DnsServerAnswer:
    """The answer the stub resolver settles on after walking the search list: the first
    `ok`; else the first `nodata` (glibc reports NO_DATA over NXDOMAIN); else the first
    `servfail`; else a timeout, refusal or error that ended the walk; else (all NXDOMAIN)
    the first name tried."""
    for wanted in ("ok", "nodata", "servfail"):
        for answer in tried:
            if answer.status == wanted:
                return answer
    return tried[-1] if tried[-1].status != "nxdomain" else tried[0]


def choose_source(nss: NssResult, answers: tuple[DnsServerAnswer, ...]) -> AddressSource:
    """Where the address the application uses first came from (see `DnsEvidence.source`).

    When getaddrinfo gave nothing, the failure is DNS's: `dns`.
    """
    if not nss.addresses:
        return "dns"
    first = nss.addresses[0]
    if first in nss.hosts_addresses:
        return "hosts"
    if any(first in a.addresses for a in answers):
        return "dns"
    return "nss"


def gai_error_name(code: int) -> str:
    """EAI_NONAME for -2 and so on; the number itself when unknown."""
    for attr in dir(socket):
        if attr.startswith("EAI_") and getattr(socket, attr) == code:
            return attr
    return str(code)


def _valid_server_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _ndots_option(values: list[str], current: int) -> int:
    for option in values:
        if option.startswith("ndots:") and option[6:].isdigit():
            current = min(int(option[6:]), MAX_NDOTS)
    return current


def _records(response: dns.message.Message) -> tuple[DnsRecord, ...]:
    import dns.rdatatype

    out: list[DnsRecord] = []
    for rrset in response.answer:
        rtype = dns.rdatatype.to_text(rrset.rdtype)
        owner = rrset.name.to_text(omit_final_dot=True)
        for rdata in rrset:
            out.append(
                DnsRecord(name=owner, rtype=rtype, ttl=rrset.ttl, value=_value(rtype, rdata))
            )
    return tuple(out)


def _value(rtype: str, rdata: Any) -> str:
    if rtype in ("A", "AAAA"):
        return hostsfile.canonical_address(ipaddress.ip_address(rdata.address))
    if rtype in _NAME_TYPES:
        return str(rdata.target.to_text(omit_final_dot=True))
    return str(rdata.to_text())


def _network_error_text(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (ICMP port unreachable)"
    name = errno.errorcode.get(exc.errno or 0, "OSError")
    return f"{name}: {exc.strerror or exc}"


# --- getaddrinfo ----------------------------------------------------------------------------


async def system_resolve(
    name: str,
    *,
    family: Family | None,
    deadline: Deadline,
    hosts_path: str = "/etc/hosts",
) -> NssResult:
    """What the application gets: getaddrinfo(name, None, family, SOCK_STREAM), flags 0.

    It runs in a daemon thread of its own, not the loop's executor: getaddrinfo cannot be
    cancelled, and asyncio.run() joins the default executor at exit, so a black-holed
    resolver would hold netdx for glibc's full timeout. At the deadline we stop waiting
    (status `timeout`) and leave the thread to finish on its own. Addresses keep
    getaddrinfo's order (RFC 6724), without duplicates.
    """
    start = time.monotonic()
    hosts = _hosts_addresses(hosts_path, name, family)
    status, addresses, gai_error = await _getaddrinfo_outcome(name, family, deadline)
    return NssResult(
        name=name,
        status=status,
        addresses=addresses,
        hosts_addresses=hosts,
        gai_error=gai_error,
        elapsed_ms=elapsed_ms(start),
    )


async def _getaddrinfo_outcome(
    name: str, family: Family | None, deadline: Deadline
) -> tuple[NssStatus, tuple[str, ...], str | None]:
    try:
        infos = await asyncio.wait_for(_getaddrinfo_in_thread(name, family), deadline.remaining())
    except TimeoutError:
        return "timeout", (), None
    except socket.gaierror as exc:
        code = gai_error_name(exc.errno or 0)
        return _GAI_STATUS.get(code, "error"), (), code
    except OSError as exc:  # EAI_SYSTEM arrives as a plain OSError with the errno
        return "error", (), f"EAI_SYSTEM ({errno.errorcode.get(exc.errno or 0, exc.errno)})"
    except UnicodeError as exc:  # a name the IDNA codec cannot encode never reaches glibc
        return "error", (), f"UnicodeError: {exc}"
    return "ok", tuple(dict.fromkeys(str(info[4][0]) for info in infos)), None


def _hosts_addresses(path: str, name: str, family: Family | None) -> tuple[str, ...]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return ()
    return hostsfile.lookup(text, name, family=family)


GaiInfo = tuple[Any, ...]


def _getaddrinfo_in_thread(name: str, family: Family | None) -> asyncio.Future[list[GaiInfo]]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[list[GaiInfo]] = loop.create_future()
    af = {None: socket.AF_UNSPEC, 4: socket.AF_INET, 6: socket.AF_INET6}[family]

    def settle(result: list[GaiInfo], error: Exception | None) -> None:
        if future.done():  # we stopped waiting (deadline): nobody wants it any more
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run() -> None:
        result: list[GaiInfo] = []
        error: Exception | None = None
        try:
            result = socket.getaddrinfo(name, None, af, socket.SOCK_STREAM)
        except Exception as exc:  # handed to the awaiting coroutine, which sorts it out
            error = exc
        # A closed loop means netdx finished without this answer.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="netdx-getaddrinfo", daemon=True).start()
    return future


# --- asking the servers ---------------------------------------------------------------------


async def query_servers(
    name: str,
    *,
    family: Family | None,
    deadline: Deadline,
    servers: tuple[str, ...] | None = None,
    resolv_conf: str = "/etc/resolv.conf",
) -> DnsQueryResult:
    """Ask every server (resolv.conf's, or `servers` given as `ADDR` / `ADDR#PORT`) for the
    A and/or AAAA records of `name`, all at once, each bounded by `deadline`.

    Search list and ndots come from resolv.conf in both cases. Per server and type the
    candidates are tried in the stub resolver's order until one has addresses; a timeout,
    a network error or REFUSED stops the walk (glibc moves on to the next server there).
    UDP is retransmitted after 1 s, 2 s, ... while the deadline allows; a truncated answer
    is asked again over TCP. ValueError for a malformed `servers` entry.
    """
    conf = _read_resolv_conf(resolv_conf)
    chosen = servers if servers is not None else conf.nameservers
    targets = [(spec, *parse_server(spec)) for spec in chosen]
    candidates = search_candidates(name, search=conf.search, ndots=conf.ndots)
    rtypes = {None: ("A", "AAAA"), 4: ("A",), 6: ("AAAA",)}[family]
    answers = await asyncio.gather(
        *(
            _ask_one_server(label, address, port, candidates, rtype, deadline)
            for label, address, port in targets
            for rtype in rtypes
        )
    )
    return DnsQueryResult(answers=tuple(answers), configured_servers=chosen, search=conf.search)


def _read_resolv_conf(path: str) -> ResolvConf:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""  # glibc then asks 127.0.0.1, as parse_resolv_conf does
    return parse_resolv_conf(text, hostname=socket.gethostname())


async def _ask_one_server(
    label: str,
    address: str,
    port: int,
    candidates: tuple[str, ...],
    rtype: str,
    deadline: Deadline,
) -> DnsServerAnswer:
    start = time.monotonic()
    tried: list[DnsServerAnswer] = []
    for qname in candidates:
        answer = await _ask(label, address, port, qname, rtype, deadline)
        tried.append(answer)
        if answer.status not in ("nxdomain", "nodata", "servfail"):
            break  # ok ends the walk; timeout, refused and errors end it for this server
    chosen = pick_answer(tried)
    return dataclasses.replace(chosen, elapsed_ms=elapsed_ms(start))


async def _ask(
    label: str, address: str, port: int, qname: str, rtype: str, deadline: Deadline
) -> DnsServerAnswer:
    import dns.exception
    import dns.message

    start = time.monotonic()

    def failed(status: DnsStatus, error: str | None) -> DnsServerAnswer:
        return DnsServerAnswer(
            server=label,
            qname=qname,
            rtype=rtype,
            status=status,
            error=error,
            elapsed_ms=elapsed_ms(start),
        )

    try:
        query = dns.message.make_query(qname + ".", rtype)
    except dns.exception.DNSException as exc:
        return failed("error", f"invalid name: {exc}")
    try:
        async with asyncio.timeout(deadline.remaining()):
            response = await _exchange(query, address, port, deadline)
    except (TimeoutError, dns.exception.Timeout):
        return failed("timeout", f"no answer within {elapsed_ms(start):.0f} ms")
    except OSError as exc:
        return failed("error", _network_error_text(exc))
    except dns.exception.DNSException as exc:
        return failed("error", f"bad response: {exc}")
    return answer_from_response(
        response, server=label, qname=qname, rtype=rtype, elapsed=elapsed_ms(start)
    )


async def _exchange(
    query: dns.message.Message, address: str, port: int, deadline: Deadline
) -> dns.message.Message:
    """One question over UDP from a connected socket (so an ICMP port unreachable comes
    back as ConnectionRefusedError at once), retransmitted while the deadline allows;
    over TCP when the answer is truncated."""
    import dns.asyncbackend
    import dns.asyncquery
    import dns.exception
    import dns.flags
    import dns.inet

    backend = dns.asyncbackend.get_default_backend()
    af = dns.inet.af_for_address(address)
    wait = FIRST_RETRY_S
    udp_socket = backend.make_socket(  # type: ignore[no-untyped-call]
        af, socket.SOCK_DGRAM, 0, None, (address, port)
    )
    async with await udp_socket as sock:
        while True:
            try:
                response = await dns.asyncquery.udp(
                    query,
                    address,
                    timeout=min(wait, deadline.remaining()),
                    port=port,
                    sock=sock,
                    ignore_errors=True,
                )
                break
            except dns.exception.Timeout:
                if deadline.expired:
                    raise
                wait *= 2
    if response.flags & dns.flags.TC:
        response = await dns.asyncquery.tcp(query, address, timeout=deadline.remaining(), port=port)
    return response


# --- both views together --------------------------------------------------------------------


async def resolve(
    name: str,
    *,
    family: Family | None,
    deadline: Deadline,
    servers: tuple[str, ...] | None = None,
) -> DnsEvidence:
    """getaddrinfo and every server's answer for `name`, concurrently, with the source of
    the first address. An IP literal comes back at once as source `literal`."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return DnsEvidence(name=name, source="literal")
    nss, queried = await asyncio.gather(
        system_resolve(name, family=family, deadline=deadline),
        query_servers(name, family=family, deadline=deadline, servers=servers),
    )
    return DnsEvidence(
        name=name,
        source=choose_source(nss, queried.answers),
        nss=nss,
        servers=queried.answers,
        configured_servers=queried.configured_servers,
        search=queried.search,
    )
