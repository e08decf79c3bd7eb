"""Kernel counters and settings as raw text: /proc/net/netstat and /proc/net/snmp, and the
sysctls that decide whether a SYN is answered (rp_filter, ip_forward, somaxconn,
ping_group_range). Parsing stays where netdx runs."""

from __future__ import annotations

from collections.abc import Sequence

from .system import Host

COUNTER_FILES = ("/proc/net/netstat", "/proc/net/snmp", "/proc/net/snmp6")
GLOBAL_SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.ipv6.conf.all.forwarding",
    "net.core.somaxconn",
    "net.ipv4.tcp_max_syn_backlog",
    "net.ipv4.ping_group_range",
)
_CONF_DIR = "/proc/sys/net/ipv4/conf"


def sysctl_path(name: str) -> str:
    """/proc/sys path of a dotted sysctl name (an interface name may not contain a dot
    here: `ip` accepts dots in names, but such names are written with / by sysctl(8))."""
    return "/proc/sys/" + name.replace(".", "/")


def rp_filter_names(interfaces: Sequence[str]) -> tuple[str, ...]:
    """The rp_filter sysctls of all, default and each interface (the kernel uses the
    maximum of `all` and the interface's value)."""
    return tuple(f"net.ipv4.conf.{i}.rp_filter" for i in ("all", "default", *interfaces))


def interfaces(host: Host) -> tuple[str, ...]:
    """Interfaces that have IPv4 settings, from the namespace's /proc/net/dev."""
    text = host.read_text("/proc/net/dev")
    names = []
    for line in text.splitlines()[2:]:
        name, sep, _rest = line.partition(":")
        if sep:
            names.append(name.strip())
    return tuple(names)


def read_sysctls(host: Host, names: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """({name: value text}, {name: why it could not be read})."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in names:
        try:
            values[name] = host.read_text(sysctl_path(name), limit=4096).strip()
        except OSError as exc:
            errors[name] = exc.strerror or str(exc)
    return values, errors


def read_files(host: Host, paths: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """({path: text}, {path: why it could not be read})."""
    texts: dict[str, str] = {}
    errors: dict[str, str] = {}
    for path in paths:
        try:
            texts[path] = host.read_text(path)
        except OSError as exc:
            errors[path] = exc.strerror or str(exc)
    return texts, errors
