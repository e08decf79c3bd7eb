"""The streamed `netdx sockets` listing without click: the body click's command
(`sockets.cli`) and `netdx.start` share.

Importing click and netdx's command table costs about 20 ms of CPU (a listing of a few
sockets takes 0.07 s through them, 0.05 s without), a twentieth of `sockets -t` at 200k
sockets, where the whole process is measured against `ss -tan`. So `netdx.start` reads the
plain listings itself (`fast_sockets`): ss's flags that take no value, -t -u -4 -6 -l -a
-n -p and --json, alone or combined as ss writes them (-tan, -tlnp). Anything else (help, a
state or filter word, --state, --port, --timeout, --netns, --ssh, --summary, `--`) goes to
click untouched, so every usage message stays click's own.
tests/unit/test_sockets_fast_path.py compares both paths.
"""

from __future__ import annotations

import contextlib
import gc
import socket
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from netdx.sockets.model import Proto, SocketQuery

EXIT_OK = 0
TIMEOUT_S = 10.0  # `sockets --timeout`'s default
# ss's flag letters that take no value → the keyword they set (None: accepted, no effect).
_LETTERS = {"t": "tcp", "u": "udp", "4": "ipv4", "6": "ipv6", "l": "listen", "p": "process",
            "a": None, "n": None}  # fmt: skip


def listing_query(
    *,
    tcp: bool = False,
    udp: bool = False,
    ipv4: bool = False,
    ipv6: bool = False,
    listen: bool = False,
    states: tuple[str, ...] = (),
    ports: tuple[int, ...] = (),
) -> SocketQuery:
    """What `netdx sockets` asks the kernel for: its protocols and families (both when
    neither is named), its states (ss names) and ports."""
    from netdx.sockets.filters import SS_GROUPS
    from netdx.sockets.model import SocketQuery

    chosen: list[Proto] = []
    if tcp:
        chosen.append("tcp")
    if udp:
        chosen.append("udp")
    return SocketQuery(
        protocols=tuple(chosen) or ("tcp", "udp"),
        families=(4,) * ipv4 + (6,) * ipv6 or (4, 6),
        # No state asked: ss's `all` (what `ss -tan` lists, and `--state all`), not every
        # kernel bit: bit 13 (Linux 6.5+, `ss -B`) adds sockets that are only bound, and
        # makes the kernel walk its whole bind table in each dump (0.05 s at 200k sockets).
        states=states or (() if listen else SS_GROUPS["all"]),
        listen=listen,
        ports=ports,
    )


def stream_sockets(query: SocketQuery, *, timeout: float, process: bool, as_json: bool) -> int:
    """The common listing (`sockets.stream`): written to stdout as the dump is read, never
    held whole; its notes on stderr. The exit code. The JSON says where it was read: the
    namespace this process is in (--netns, `ip netns exec`), else this host."""
    from netdx.budget import Deadline
    from netdx.host.netns import here
    from netdx.model.vantage import THIS_HOST
    from netdx.sockets.stream import stream_listing

    deadline = Deadline.after(timeout)
    with gc_paused():
        notes = stream_listing(query, deadline=deadline, out=sys.stdout, as_json=as_json,
                               process=process, ifnames=interface_names(),
                               observed_on=here() if as_json else THIS_HOST)  # fmt: skip
    note(notes)
    return EXIT_OK


def fast_sockets(argv: Sequence[str]) -> Callable[[], int] | None:
    """`stream_sockets` bound to the arguments after `sockets` when they are only ss's
    flags without a value (-t -u -4 -6 -l -a -n -p, combined or not) and --json, which
    click reads the same way; else None (click then parses them)."""
    given: set[str] = set()
    for token in argv:
        if token == "--json":
            given.add("as_json")
        elif len(token) > 1 and token[0] == "-" and all(c in _LETTERS for c in token[1:]):
            given.update(name for name in map(_LETTERS.get, token[1:]) if name)
        else:
            return None
    query = listing_query(tcp="tcp" in given, udp="udp" in given, ipv4="ipv4" in given,
                          ipv6="ipv6" in given, listen="listen" in given)  # fmt: skip
    process, as_json = "process" in given, "as_json" in given
    return lambda: stream_sockets(query, timeout=TIMEOUT_S, process=process, as_json=as_json)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection during a listing: it allocates many objects and no
    reference cycles, and the collector would rescan them again and again. Switched back
    on afterwards for callers that run in-process."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def interface_names() -> dict[int, str]:
    """This namespace's interface index → name (none when it cannot be read)."""
    try:
        return {index: name for index, name in socket.if_nameindex()}
    except OSError:
        return {}


def note(lines: list[str]) -> None:
    """Each line on stderr as `netdx: note: ...`."""
    from netdx.start import echo

    for line in lines:
        echo(f"netdx: note: {line}", err=True)
