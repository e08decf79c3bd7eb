"""Which firewall tables this network namespace holds, read without running a tool.

`netdx check` evaluates this host's ruleset when a SYN to one of its own addresses was reset
or went unanswered. The full capture (`live.capture`) runs seven commands (nft twice, four
iptables-save variants, `ip addr`): ~20 ms of CPU on an empty ruleset, a tenth of a check.
Most of them can add nothing: iptables-nft-save only gives the rules of the `ip`/`ip6` tables
nft lists, iptables-legacy-save only prints the tables of /proc/net/ip{,6}_tables_names, nft's
text only names the rules of tables nft has. One netlink dump of the nftables tables (what
`nft list tables` asks the kernel) and the two /proc files say which can.
"""

from __future__ import annotations

import struct

from netdx.model.record import record
from netdx.netlink.errors import NetlinkError
from netdx.netlink.sock import NetlinkSocket
from netdx.netlink.wire import NLM_F_DUMP, NLM_F_REQUEST

NETLINK_NETFILTER = 12
# (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_*, from linux/netfilter/nf_tables.h: the dump is
# asked with GETTABLE and answered with one NEWTABLE message a table.
NFT_MSG_NEWTABLE = (10 << 8) | 0
NFT_MSG_GETTABLE = (10 << 8) | 1
# struct nfgenmsg { __u8 nfgen_family; __u8 version; __be16 res_id; }
NFGENMSG = struct.Struct("!BBH")
# nfgen_family → nft's family name (NFPROTO_*).
NFT_FAMILIES = {1: "inet", 2: "ip", 3: "arp", 5: "netdev", 7: "bridge", 10: "ip6"}
# thread-self: the namespace of the calling thread (a NetnsHost thread's, after its setns).
LEGACY_NAMES = {4: "/proc/thread-self/net/ip_tables_names",
                6: "/proc/thread-self/net/ip6_tables_names"}


@record
class Present:
    """The families of the nftables tables (`ip`, `ip6`, `inet`...), and the IP versions
    whose legacy iptables hold a table (or could not be told: their save then runs)."""

    nft: frozenset[str]
    legacy: frozenset[int]


def nft_table_families(timeout: float) -> frozenset[str]:
    """The family of every nftables table of this namespace (a NetlinkError when it cannot
    be read: no CAP_NET_ADMIN, no nf_tables)."""
    with NetlinkSocket(NETLINK_NETFILTER) as sock:
        reply = sock.request(NFT_MSG_GETTABLE, NLM_F_REQUEST | NLM_F_DUMP,
                             NFGENMSG.pack(0, 0, 0), timeout=timeout)
    if reply.error is not None:
        raise NetlinkError(f"nftables tables: {reply.error.name}")
    return frozenset(NFT_FAMILIES.get(m.payload[0], str(m.payload[0]))
                     for m in reply.messages if m.type == NFT_MSG_NEWTABLE and m.payload)


def legacy_holds_tables(version: int, proc_file: str | None = None) -> bool:
    """True unless /proc says legacy iptables of `version` has no table: the file is empty,
    or absent (ip_tables not loaded: iptables-legacy-save then prints nothing either). An
    unreadable file (not root) says nothing: the save runs and says why it fails."""
    try:
        # Bytes decoded by str's own ASCII codec: a text file would import encodings.ascii.
        with open(proc_file or LEGACY_NAMES[version], "rb") as f:
            return bool(f.read().decode("ascii", "replace").strip())
    except FileNotFoundError:
        return False
    except OSError:
        return True


def present(timeout: float) -> Present | None:
    """What this namespace holds; None when the nftables tables cannot be listed (then
    every command runs, and each says for itself why it failed)."""
    try:
        nft = nft_table_families(timeout)
    except (NetlinkError, OSError):
        return None
    return Present(nft=nft, legacy=frozenset(v for v in (4, 6) if legacy_holds_tables(v)))
