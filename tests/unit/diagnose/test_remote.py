"""The verdict from both ends: the server's evidence (read over SSH) joined with the client's,
each rule firing on its case and standing aside on the near miss."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import evidence_cases as c
import pytest
import remote_cases as r

from netdx.diagnose import diagnose, run_rules
from netdx.diagnose.engine import build_report
from netdx.diagnose.remote import decisive, evaluate
from netdx.diagnose.remote_link import link_warnings, remote_report
from netdx.model import CheckEvidence, Finding, Target
from netdx.model.remote import RemoteEvidence, SshStatus, WireCapture


def verdict_of(ev: CheckEvidence) -> tuple[str, str]:
    _, verdict = diagnose(ev)
    return verdict.cause, verdict.summary


def with_remote(ev: CheckEvidence, **kw: object) -> CheckEvidence:
    assert ev.remote is not None
    return replace(ev, remote=replace(ev.remote, **kw))


def pasted_argv(line: str, tool: str, tmp_path: Path) -> list[str]:
    """What bash hands `tool` when the command part of a fix line is pasted (tool is a
    function that prints its argv: nothing runs)."""
    command = line.split(": ", 2)[-1] if line.startswith("on ") else line.split(": ", 1)[-1]
    script = f'{tool}() {{ printf "%s\\0" "$@"; }}\n{command}\n'
    out = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script],
        cwd=tmp_path, capture_output=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    return [a.decode() for a in out.split(b"\0")[:-1]]


# --- port.filtered: the server's rule, confirmed or a candidate -----------------------------


def test_rule_whose_counter_rose_is_named_and_confirmed() -> None:
    """The seed story: the verdict names the server's rule with its counter, confirmed."""
    cause, summary = verdict_of(r.REMOTE_RULE_CONFIRMED)
    assert cause == "port.filtered"
    assert "(confirmed)" in summary
    assert (
        "inet filter input handle 7: ip saddr 10.0.0.10 tcp dport 5432 drop, "
        "counter +3 during this check" in summary
    )


def test_capture_alone_confirms_a_rule_without_counter() -> None:
    """SYNs that arrived unanswered confirm the dropping rule even when it has no counter."""
    ev = with_remote(r.REMOTE_RULE_NO_COUNTER, capture=r.THREE_SYNS)
    found = decisive(ev)
    assert found is not None and found.cause == "port.filtered"
    assert "(confirmed)" in found.summary
    assert "3 SYNs from 10.0.0.10 arrived on eth0" in "\n".join(found.evidence)


def test_counter_that_did_not_rise_makes_a_candidate() -> None:
    """A drop rule whose counter stayed put (and no capture) is a candidate, never confirmed."""
    cause, summary = verdict_of(r.REMOTE_RULE_CANDIDATE)
    assert cause == "port.filtered"
    assert "(a candidate)" in summary and "confirmed" not in summary
    assert "counter +0 during this check" in summary


def test_rule_without_counter_says_so_and_how_to_add_one(tmp_path: Path) -> None:
    """No counter: the verdict says so, and the printed nft command adds `counter` before the
    verdict of the same rule, as one argument."""
    _, verdict = diagnose(r.REMOTE_RULE_NO_COUNTER)
    assert verdict.cause == "port.filtered"
    assert "the rule has no counter" in verdict.summary
    line = next(f for f in verdict.fix if "nft replace rule" in f)
    argv = pasted_argv(line, "nft", tmp_path)
    assert argv == ["replace", "rule", "inet", "filter", "input", "handle", "7",
                    "ip saddr 10.0.0.10 tcp dport 5432 counter drop"]  # fmt: skip


@pytest.mark.parametrize("name", ["f;touch MARK", "$(touch MARK)", "`touch MARK`", "a'b"])
def test_server_names_in_fixes_run_nothing(name: str, tmp_path: Path) -> None:
    """A table or chain name read from the server travels as one argument when the fix is
    pasted; nothing hidden in it runs."""
    ev = r.REMOTE_RULE_NO_COUNTER
    assert ev.remote is not None and ev.remote.firewall is not None
    hostile = replace(r.DROP, table=name.replace("MARK", str(tmp_path / "pwned")))
    match = replace(ev.remote.firewall.match, rule=hostile)
    found = decisive(with_remote(ev, firewall=replace(ev.remote.firewall, match=match)))
    assert found is not None
    for line in (f for f in found.fix if "nft " in f):
        argv = pasted_argv(line, "nft", tmp_path)
        assert hostile.table in argv
    assert not (tmp_path / "pwned").exists()


def test_a_reject_rule_does_not_explain_a_timeout() -> None:
    """Only a drop explains silence: an accepting ruleset leaves the client's verdict alone."""
    assert decisive(r.REMOTE_LOSSY_CAPTURE) is None
    assert verdict_of(r.REMOTE_LOSSY_CAPTURE)[0] == "port.filtered"


# --- path.filtered_midway: the SYN never arrived -------------------------------------------


def test_capture_without_the_syn_proves_a_midway_drop() -> None:
    """The server saw no SYN in a whole, lossless capture: dropped on the way, after the last
    router that answered the client's TCP traceroute."""
    cause, summary = verdict_of(r.REMOTE_NEVER_ARRIVED)
    assert cause == "path.filtered_midway"
    assert "never reached the server" in summary and "after hop 1 (10.0.1.1)" in summary


@pytest.mark.parametrize(
    ("capture", "why"),
    [
        (r.NOT_ROOT_CAPTURE, "not root: nothing is known of the wire"),
        (r.capture(kernel_dropped=2), "the socket lost packets"),
        (replace(r.capture(), truncated=True), "more packets than were kept"),
        (r.THREE_SYNS, "the SYNs did arrive"),
        (WireCapture(status="error", port=5432, reason="ENODEV"), "the capture failed"),
    ],
)
def test_no_midway_claim_without_a_whole_capture(capture: WireCapture, why: str) -> None:
    """No "never arrived" unless the capture ran whole and saw no SYN."""
    ev = with_remote(r.REMOTE_NEVER_ARRIVED, capture=capture)
    causes = {f.cause for f in evaluate(ev)}
    assert "path.filtered_midway" not in causes, why


def test_midway_without_cleared_egress_says_so() -> None:
    """Without root on the client its own output rules drop a SYN as silently: the verdict
    says they were not ruled out."""
    ev = replace(r.REMOTE_NEVER_ARRIVED, addresses=c.PORT_FILTERED.addresses)
    cause, summary = verdict_of(ev)
    assert cause == "path.filtered_midway"
    assert "this host's own output rules, not ruled out without root" in summary


# --- route.rp_filter ------------------------------------------------------------------------


def test_strict_rp_filter_with_asymmetric_route() -> None:
    """SYN in on eth1, route back by eth0, rp_filter 1: the reverse-path filter, with a fix
    that sets it loose on eth1."""
    _, verdict = diagnose(r.REMOTE_RP_FILTER)
    assert verdict.cause == "route.rp_filter"
    assert "arrives on eth1, the route back leaves by eth0" in "\n".join(verdict.evidence)
    assert any("sysctl -w net.ipv4.conf.eth1.rp_filter=2" in f for f in verdict.fix)


def test_rp_counter_alone_decides_and_says_what_it_knows() -> None:
    """The kernel's reverse-path counter rose: route.rp_filter, worded from the counter."""
    cause, summary = verdict_of(r.REMOTE_RP_COUNTER)
    assert cause == "route.rp_filter"
    assert "TcpExtIPReversePathFilter" in summary


@pytest.mark.parametrize(
    "change",
    [
        {"rp_filter": 2},  # loose: the filter lets it pass
        {"rp_filter": 0},
        {"rp_filter": None},  # unknown
        {"syn_interface": "eth0"},  # symmetric
        {"syn_interface": None},  # not captured
    ],
)
def test_no_rp_filter_claim_on_the_near_miss(change: dict[str, object]) -> None:
    """Loose, off or unknown filtering, a symmetric route, or no capture: no route.rp_filter."""
    ev = r.REMOTE_RP_FILTER
    assert ev.remote is not None and ev.remote.return_path is not None
    moved = with_remote(ev, return_path=replace(ev.remote.return_path, **change))
    assert "route.rp_filter" not in {f.cause for f in run_rules(moved)}


# --- port.refused, service.loopback_only ----------------------------------------------------


def test_reset_rule_that_counted_is_named_instead_of_nothing_listens() -> None:
    """A tcp-reset REJECT rule whose counter rose answered, though postgres listens."""
    cause, summary = verdict_of(r.REMOTE_RESET_RULE)
    assert cause == "port.refused"
    assert "REJECT rule" in summary and "(confirmed)" in summary
    assert "nothing listens" not in summary
    assert "reject with tcp reset, counter +3 during this check" in summary


def test_icmp_from_the_target_names_the_servers_reject_rule() -> None:
    """The target's own ICMP port-unreachable: the verdict names the server's REJECT rule and
    its counter."""
    cause, summary = verdict_of(r.REMOTE_ICMP_RULE)
    assert cause == "firewall.reject_port_unreachable"
    assert "(confirmed)" in summary and "inet filter input handle 11" in summary


def test_icmp_rule_named_by_the_server_drops_the_generic_search() -> None:
    """Once the server named the REJECT rule, the fix is that rule's (delete it by handle),
    not the client-only "find the REJECT rule" search beside it."""
    from netdx.diagnose import remote

    assert r.REMOTE_ICMP_RULE.remote is not None
    found = remote.icmp_rule(r.REMOTE_ICMP_RULE, r.REMOTE_ICMP_RULE.remote)
    assert found is not None and found.fix
    assert any("handle 11" in line for line in found.fix)
    assert not any("find the REJECT rule" in line or "grep -n" in line for line in found.fix)


def test_icmp_from_a_router_is_not_the_servers_rule() -> None:
    """A router's ICMP error: the server's reject rule did not answer, so it is not named."""
    assert r.REMOTE_ICMP_RULE.remote is not None
    ev = replace(c.REJECT_ADMIN, remote=r.REMOTE_ICMP_RULE.remote)
    cause, summary = verdict_of(ev)
    assert cause == "firewall.reject_admin" and "handle 11" not in summary


def test_uncounted_reset_rule_yields_to_the_missing_listener() -> None:
    """A reset rule that counted nothing while nothing listens: the listener's absence is
    what the server proves."""
    cause, summary = verdict_of(r.REMOTE_RESET_UNCOUNTED)
    assert cause == "port.refused"
    assert "nothing listens on 10.0.2.5:5432" in summary and "REJECT" not in summary


def test_uncounted_reset_rule_with_a_listener_is_a_candidate() -> None:
    """A listener is there, the reset rule has no counter that rose: a candidate rule."""
    ev = with_remote(r.REMOTE_RESET_RULE, firewall=r.wall("reject", r.RESET, 7, 7,
                                                          reject_with="tcp reset"))  # fmt: skip
    cause, summary = verdict_of(ev)
    assert cause == "port.refused"
    assert "(a candidate)" in summary


def test_server_without_listener_names_the_nearby_one() -> None:
    """Refused, and the server says nothing listens on 5432 but something on 5433."""
    _, verdict = diagnose(r.REMOTE_NO_LISTENER)
    assert verdict.cause == "port.refused"
    assert ":5433" in verdict.summary
    assert verdict.evidence[0].startswith("TCP connect to 10.0.2.5:5432: refused")


def test_loopback_listener_decides_from_the_client() -> None:
    """A refused connect and a listener on 127.0.0.1 only: service.loopback_only, naming
    the process."""
    cause, summary = verdict_of(r.REMOTE_LOOPBACK)
    assert cause == "service.loopback_only"
    assert "postgres (pid 901, user app) listens on 127.0.0.1:5432" in summary


# --- app.close_wait_leak, app.accept_queue_full --------------------------------------------


def test_close_wait_leak_rides_along_a_working_connection() -> None:
    """The connection works; the leak is a warning beside ok, naming the process."""
    _, verdict = diagnose(r.REMOTE_CLOSE_WAIT)
    assert verdict.cause == "ok"
    leak = next(w for w in verdict.warnings if w.cause == "app.close_wait_leak")
    assert leak.severity == "warn" and "postgres (pid 901" in leak.summary


def test_listen_overflows_during_the_check_mean_a_full_queue() -> None:
    """ListenOverflows/ListenDrops rose while the SYNs went unanswered: the accept queue."""
    _, verdict = diagnose(r.REMOTE_QUEUE_OVERFLOW)
    assert verdict.cause == "app.accept_queue_full"
    assert "TcpExtListenOverflows +3 during this check" in "\n".join(verdict.evidence)


def test_counters_that_did_not_move_prove_no_overflow() -> None:
    """Counters read but unchanged: no accept-queue claim."""
    ev = with_remote(r.REMOTE_QUEUE_OVERFLOW, counters=(
        r.CounterDelta(name="TcpExtListenOverflows", before=100, after=100),))  # fmt: skip
    assert verdict_of(ev)[0] != "app.accept_queue_full"


def test_full_recv_queue_on_the_server_explains_the_timeout() -> None:
    """The server's listener has Recv-Q at its backlog: app.accept_queue_full from the
    server's sockets, as `netdx inspect` says it."""
    sock = c.tcp_socket("0.0.0.0", 5432, c.TCP_LISTEN, inode=9011, rqueue=129, wqueue=128)
    server = c.served(5432, c.DB_IP, "postgres", 901, listeners=(sock,))
    ev = with_remote(r.REMOTE_LOSSY_CAPTURE, server=server)
    assert verdict_of(ev)[0] == "app.accept_queue_full"


# --- the address ----------------------------------------------------------------------------


def test_server_without_the_address_is_a_wrong_address() -> None:
    """The name gives 10.0.2.5, the server has 10.0.2.7: dns.wrong_address, its addresses
    quoted."""
    _, verdict = diagnose(r.REMOTE_WRONG_ADDRESS)
    assert verdict.cause == "dns.wrong_address"
    assert "does not have 10.0.2.5 (its addresses: 10.0.2.7, 127.0.0.1)" in verdict.evidence[0]


def test_syns_that_arrive_anyway_are_no_wrong_address() -> None:
    """Behind a NAT the server does not have the address, yet the SYNs reach it."""
    assert verdict_of(r.REMOTE_BEHIND_NAT)[0] != "dns.wrong_address"


def test_typed_address_is_no_dns_fault() -> None:
    """An IP literal the server does not have is not blamed on DNS."""
    ev = replace(r.REMOTE_WRONG_ADDRESS, dns=c.literal(c.DB_IP), target_host=c.DB_IP)
    assert "dns.wrong_address" not in {f.cause for f in run_rules(ev)}


def test_stale_cache_gets_the_servers_word() -> None:
    """A stale resolver cache stays dns.stale_cache, with the server's addresses quoted."""
    _, verdict = diagnose(r.REMOTE_STALE_CACHE)
    assert verdict.cause == "dns.stale_cache"
    assert any("does not have 10.0.0.20" in e for e in verdict.evidence)


# --- the SSH link: warnings, never the verdict ---------------------------------------------

FAILURES: dict[SshStatus, str] = {
    "refused": "ssh: connect to host db-server-01 port 22: Connection refused",
    "timeout": "ssh: connect to host db-server-01 port 22: Connection timed out",
    "unreachable": "ssh: Could not resolve hostname db-server-01: Name or service not known",
    "hostkey": "Host key verification failed.",
    "auth": "admin@db-server-01: Permission denied (publickey).",
    "no_python": "netdx: no python3 on this host",
    "no_root": "sudo: a password is required",
    "error": "kex_exchange_identification: read: Connection reset by peer",
}
SETTINGS = (("hostname", "db-server-01"), ("port", "22"), ("user", "admin"),
            ("stricthostkeychecking", "ask"), ("userknownhostsfile", "~/.ssh/known_hosts"),
            ("identityfile", "~/.ssh/id_ed25519"), ("connecttimeout", "2"))  # fmt: skip


@pytest.mark.parametrize("status", sorted(FAILURES))
@pytest.mark.parametrize("base", ["PORT_FILTERED", "REFUSED", "OK_PORT", "HOST_ECHO_UNKNOWN"])
def test_failed_link_is_a_warning_beside_the_clients_verdict(status: SshStatus, base: str) -> None:
    """Whatever failed on the link, the verdict is the one the client alone gives, and the
    ssh.<status> warning quotes ssh's message and the settings that explain it."""
    client = getattr(c, base)
    ev = replace(client, remote=r.failed_link(status, FAILURES[status], *SETTINGS))
    _, alone = diagnose(client)
    _, verdict = diagnose(ev)
    assert verdict.cause == alone.cause
    warning = verdict.warnings[-1]
    assert warning.cause == f"ssh.{status}" and warning.severity == "warn"
    assert f"ssh said: {FAILURES[status]}" in warning.evidence
    assert any(e.startswith("ssh -G: ") for e in warning.evidence)
    assert warning.fix


def test_each_link_failure_has_its_code() -> None:
    """Each way the link fails has its own public code, ssh.<status>."""

    def cause_of(status: SshStatus) -> str:
        ev = replace(c.REFUSED, remote=r.failed_link(status, FAILURES[status]))
        return link_warnings(ev)[0].cause

    assert cause_of("refused") == "ssh.refused"
    assert cause_of("timeout") == "ssh.timeout"
    assert cause_of("unreachable") == "ssh.unreachable"
    assert cause_of("hostkey") == "ssh.hostkey"
    assert cause_of("auth") == "ssh.auth"
    assert cause_of("no_python") == "ssh.no_python"
    assert cause_of("no_root") == "ssh.no_root"
    assert cause_of("error") == "ssh.error"


def test_hostkey_warning_quotes_the_host_key_policy() -> None:
    """The host-key warning quotes StrictHostKeyChecking and the known_hosts file in use."""
    (warning,) = link_warnings(r.REMOTE_SSH_HOSTKEY)
    assert warning.cause == "ssh.hostkey"
    assert (
        "ssh -G: hostname db-server-01, stricthostkeychecking ask, "
        "userknownhostsfile ~/.ssh/known_hosts ~/.ssh/known_hosts2" in warning.evidence
    )


@pytest.mark.parametrize("dest", ["x;touch MARK", "$(touch MARK)@h", "`touch MARK`", "a'b@c"])
def test_ssh_fix_lines_run_nothing(dest: str, tmp_path: Path) -> None:
    """The destination in a printed ssh command travels as one argument when pasted."""
    dest = dest.replace("MARK", str(tmp_path / "pwned"))
    pasted = 0
    for status in FAILURES:
        link = r.failed_link(status, "x")
        ev = replace(c.REFUSED, remote=replace(link, ssh=replace(link.ssh, destination=dest)))
        for line in (f for w in link_warnings(ev) for f in w.fix if " ssh " in f"{f} "):
            if "try: ssh" in line or "account: ssh" in line or "offered: ssh" in line:
                assert dest in pasted_argv(line, "ssh", tmp_path)
                pasted += 1
    assert pasted >= 4
    assert not (tmp_path / "pwned").exists()


def test_working_link_gives_no_ssh_warning() -> None:
    """A link that worked adds no ssh.* finding."""
    assert link_warnings(r.REMOTE_RULE_CONFIRMED) == ()


# --- the picker with and without the server --------------------------------------------------


@pytest.mark.parametrize("name", sorted(r.REMOTE_EXPECTED))
def test_without_the_server_the_verdict_is_the_clients(name: str) -> None:
    """Take the server's evidence away and no remote rule speaks: the client's rules alone."""
    ev = replace(getattr(r, name), remote=None)
    assert evaluate(ev) == ()
    assert link_warnings(ev) == ()
    assert all(not f.summary.startswith("on admin@") for f in run_rules(ev))


def test_server_finding_that_lost_to_a_lower_step_is_a_warning() -> None:
    """A dead /etc/hosts pin decides; the server's confirmed rule rides along as a warning."""
    ev = replace(c.HOSTS_OVERRIDE_DEAD, remote=r.REMOTE_RULE_CONFIRMED.remote)
    _, verdict = diagnose(ev)
    assert verdict.cause == "dns.hosts_override"
    lost = [w for w in verdict.warnings if w.cause == "port.filtered"]
    assert lost and lost[0].severity == "warn" and "counter +3" in lost[0].summary


def test_only_one_remote_finding_fails() -> None:
    """The server gives at most one failing finding; the rest are warnings."""
    for name in r.REMOTE_EXPECTED:
        found: tuple[Finding, ...] = evaluate(getattr(r, name))
        assert sum(f.severity == "fail" for f in found) <= 1


# --- the report's server block ---------------------------------------------------------------


def _block(ev: CheckEvidence) -> tuple[str, ...]:
    block = remote_report(ev)
    assert block is not None
    return block.lines


def test_block_quotes_listener_rule_and_capture() -> None:
    """The server block: the link, the address, the listener, the rule with its counter,
    what the capture saw."""
    lines = _block(r.REMOTE_RULE_CONFIRMED)
    assert lines[0] == "read over ssh: python 3.11.2, root, new connection, 412 ms"
    assert "has 10.0.2.5" in lines
    assert "postgres (pid 901, user app) listens on 0.0.0.0:5432" in lines
    assert (
        "firewall (input): inet filter input handle 7: ip saddr 10.0.0.10 tcp dport 5432 "
        "drop, counter +3 during this check" in lines
    )
    assert "capture: 3 SYNs from 10.0.0.10 arrived on eth0 in 1180 ms, no answer" in lines


def test_block_says_what_only_root_could_read() -> None:
    """Not root on the server: the capture and the ruleset are unknown, never guessed."""
    lines = _block(r.REMOTE_NOT_ROOT)
    assert any(line.startswith("not root on the server: the capture") for line in lines)
    assert "capture: not root on the server: whether the SYN arrived is unknown" in lines
    assert any("unknown (nft: Operation not permitted)" in line for line in lines)


def test_block_of_a_failed_link_names_it() -> None:
    """A failed link: the block says which failure and ssh's words."""
    lines = _block(r.REMOTE_SSH_HOSTKEY)
    assert lines[0].startswith("ssh.hostkey: ") and "Host key verification failed." in lines[0]


def test_report_carries_the_block_only_with_the_server() -> None:
    """build_report fills `remote` only for a check run with --ssh."""
    target = Target(raw="db.lab.example:5432", host="db.lab.example", port=5432, scheme=None)
    assert build_report(target, c.PORT_FILTERED, 1.0).remote is None
    report = build_report(target, r.REMOTE_RULE_CONFIRMED, 1.0)
    assert report.remote is not None and report.remote.destination == r.DEST
    assert isinstance(report.remote.evidence, RemoteEvidence)


def test_rule_text_drops_the_first_readings_counter_values() -> None:
    """The quoted rule says `counter`, not the first reading's `counter packets 0 bytes 0`
    beside the delta ("+3 during this check"), which read as a contradiction."""
    from netdx.diagnose.remote_text import firewall_line

    counted = r.rule(f"ip saddr {r.CLIENT} tcp dport 5432 counter packets 0 bytes 0 drop")
    line = firewall_line(r.wall("drop", counted, 0, 3))
    assert "counter packets" not in line
    assert "tcp dport 5432 counter drop" in line and "+3 during this check" in line
