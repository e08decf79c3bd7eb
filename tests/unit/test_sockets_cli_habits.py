"""ss's habits on `netdx sockets`: combined short flags, state names and groups, `state`,
`src` and `dst` words, --src/--dst/--pid filters, and the schema-tagged JSON. The dump is
replaced by a fixed listing: what is tested is the parsing and the filtering."""

from __future__ import annotations

import json
from typing import IO, Any

import pytest

from netdx.cli import main
from netdx.model.vantage import THIS_HOST, Vantage
from netdx.netlink.diag import DiagSocket
from netdx.sockets import dump, render, stream
from netdx.sockets.filters import SS_GROUPS, parse_endpoint, parse_words, state_names
from netdx.sockets.model import OwnerScan, Process, SocketListing, SocketQuery

AF4, AF6 = 2, 10


def sock(state: int, src: str, sport: int, dst: str, dport: int, inode: int,
         family: int = AF4) -> DiagSocket:
    return DiagSocket("tcp", family, state, src, sport, dst, dport, 0, 0, 0, 0, inode)


SOCKETS = (
    sock(10, "0.0.0.0", 22, "0.0.0.0", 0, 100),  # sshd listening
    sock(1, "10.0.0.1", 22, "10.0.0.9", 50000, 101),  # an ssh session
    sock(8, "10.0.0.1", 5432, "10.1.2.3", 40000, 102),  # a CLOSE-WAIT to postgres
    sock(6, "127.0.0.1", 8080, "127.0.0.1", 41000, 0),  # TIME-WAIT: no owner
    sock(1, "::ffff:10.0.0.1", 443, "::ffff:10.0.0.7", 42000, 103, AF6),  # dual-stack
)
SSHD = Process(pid=7, command="sshd", user="root", uid=0)
PG = Process(pid=9, command="postgres", user="postgres", uid=108)
OWNERS = OwnerScan.of({100: ((SSHD, 3),), 101: ((SSHD, 4),), 102: ((PG, 5),)})


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[SocketQuery]:
    """The queries handed to the dump, which answers with SOCKETS (and OWNERS with -p)."""
    seen: list[SocketQuery] = []

    def fake_dump(query: SocketQuery, *, deadline: Any) -> SocketListing:
        seen.append(query)
        return SocketListing(sockets=SOCKETS)

    def fake_stream(query: SocketQuery, *, deadline: Any, out: IO[str], as_json: bool,
                    process: bool, ifnames: dict[int, str],
                    observed_on: Vantage = THIS_HOST) -> list[str]:
        # The unfiltered listing is streamed (sockets.stream, proven equal to the renderer
        # in test_sockets_stream): here it prints the fixed listing the renderer's way.
        seen.append(query)
        listing = SocketListing(sockets=SOCKETS, owners=OWNERS if process else None,
                                observed_on=observed_on)
        draw = render.json_text if as_json else render.table
        out.write(draw(listing, with_process=process, ifnames=ifnames) + "\n")
        return render.notes_text(listing)

    monkeypatch.setattr(dump, "list_sockets", fake_dump)
    monkeypatch.setattr(stream, "stream_listing", fake_stream)
    monkeypatch.setattr("netdx.sockets.cli._with_owners",
                        lambda listing, deadline: SocketListing(sockets=listing.sockets,
                                                                owners=OWNERS))
    return seen


def listed(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["sockets", *argv, "--json"]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


@pytest.mark.parametrize(("argv", "protocols", "listen"), [
    (["-tlnp"], ("tcp",), True),
    (["-tlpn"], ("tcp",), True),
    (["-tan"], ("tcp",), False),
    (["-uan"], ("udp",), False),
    (["-n"], ("tcp", "udp"), False),
])
def test_combined_short_flags_parse_like_ss(
    asked: list[SocketQuery], capsys: pytest.CaptureFixture[str],
    argv: list[str], protocols: tuple[str, ...], listen: bool,
) -> None:
    """-tlnp, -tan, -uan and a lone -n are accepted; -n and -a change nothing: without -l
    every state ss lists is asked (`state all`), and with -l only the listening ones."""
    assert main(["sockets", *argv]) == 0
    every = () if listen else SS_GROUPS["all"]
    assert (asked[0].protocols, asked[0].listen, asked[0].states) == (protocols, listen, every)
    assert ("Process" in capsys.readouterr().out) == ("p" in argv[0])


@pytest.mark.parametrize(("words", "names"), [
    (["established"], ("ESTAB",)),
    (["close-wait", "TIME-WAIT"], ("CLOSE-WAIT", "TIME-WAIT")),
    (["syn-sent", "listening"], ("SYN-SENT", "LISTEN")),
    (["ESTAB"], ("ESTAB",)),
    (["all"], ()),
])
def test_state_words_map_to_the_kernel_names(words: list[str], names: tuple[str, ...]) -> None:
    """ss's lowercase names and netdx's own both map to the names the dump filters on."""
    assert state_names(words) == names


def test_state_groups_leave_out_what_ss_leaves_out() -> None:
    """connected has no LISTEN or UNCONN; synchronized also lacks SYN-SENT."""
    connected, synced = state_names(["connected"]), state_names(["synchronized"])
    assert "ESTAB" in connected and "SYN-SENT" in connected
    assert not {"LISTEN", "UNCONN"} & set(connected)
    assert set(connected) - set(synced) == {"SYN-SENT"}


def test_state_option_and_word_reach_the_kernel_filter(
    asked: list[SocketQuery], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--state established` and `state close-wait` both go into the one dump query."""
    listed(capsys, "-t", "--state", "established", "state", "close-wait")
    assert asked[0].states == ("ESTAB", "CLOSE-WAIT")


def test_src_and_dst_filter_the_listing(
    asked: list[SocketQuery], capsys: pytest.CaptureFixture[str]
) -> None:
    """--src with a port and `dst` with a network keep only the matching sockets."""
    doc = listed(capsys, "--src", "10.0.0.1:22")
    assert [s["inode"] for s in doc["sockets"]] == [101]
    doc = listed(capsys, "dst", "10.1.0.0/16")
    assert [s["inode"] for s in doc["sockets"]] == [102]


def test_v4_mapped_addresses_match_their_v4_form(
    asked: list[SocketQuery], capsys: pytest.CaptureFixture[str]
) -> None:
    """A dual-stack socket's ::ffff:10.0.0.7 peer matches --dst 10.0.0.7."""
    assert [s["inode"] for s in listed(capsys, "--dst", "10.0.0.7")["sockets"]] == [103]


def test_pid_filter_implies_owners(
    asked: list[SocketQuery], capsys: pytest.CaptureFixture[str]
) -> None:
    """--pid 7 keeps sshd's two sockets, with the process shown."""
    doc = listed(capsys, "--pid", "7")
    assert doc["schema"] == "netdx.sockets/1"
    assert [s["inode"] for s in doc["sockets"]] == [100, 101]
    assert {s["process"]["command"] for s in doc["sockets"]} == {"sshd"}


def test_summary_json_works(asked: list[SocketQuery], capsys: pytest.CaptureFixture[str]) -> None:
    """`sockets --summary --json` prints the summary document, not an error."""
    doc = listed(capsys, "--summary")
    assert doc["schema"] == "netdx.sockets.summary/1" and doc["total"] == len(SOCKETS)


@pytest.mark.parametrize(("argv", "says"), [
    (["--state", "bogus"], "invalid value"),
    (["state", "bogus"], "unknown state"),
    (["state"], "needs a value"),
    (["frobnicate"], "unexpected word"),
    (["--src", "10.0.0.1:99999"], "expected ADDR"),
    (["--dst", "web:80"], "expected ADDR"),
    (["-l", "state", "established"], "cannot be combined"),
    (["-tlnx"], "no such option"),
])
def test_bad_words_are_one_line_usage_errors(
    asked: list[SocketQuery], capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    """A bad state, spec or combination exits 2 with one line on stderr, before any dump."""
    assert main(["sockets", *argv]) == 2
    err = capsys.readouterr().err
    assert says.lower() in err.lower() and len(err.strip().splitlines()) == 1
    assert asked == []


def test_endpoint_specs() -> None:
    """ADDR, ADDR/LEN, :PORT, ADDR:PORT and [V6]:PORT all parse."""
    assert parse_endpoint(":443").port == 443 and parse_endpoint(":443").network is None
    assert parse_endpoint("[::1]:53").matches("::1", 53)
    assert parse_endpoint("10.0.0.0/8").matches("10.9.9.9", 1)
    assert not parse_endpoint("10.0.0.1:80").matches("10.0.0.1", 81)
    assert parse_words(["src", "a", "dst", "b", "connected"]).states == ("connected",)


def test_no_state_asks_what_ss_lists_not_bound_only_sockets() -> None:
    """`netdx sockets` without a state asks the kernel for ss's `all` (the states `ss -tan`
    lists, the same mask as `--state all`), not for TCP_BOUND_INACTIVE (bit 13, sockets
    that are only bound), whose dump walks the kernel's whole bind table."""
    from netdx.collect.sockdiag import plan

    asked = plan(SocketQuery(protocols=("tcp",), states=SS_GROUPS["all"]))
    assert [r.states for r in asked] == [0x1FFE] * 2  # ESTAB (1) .. CLOSING (11), NEW_SYN_RECV (12)
    assert not any(r.states & 1 << 13 for r in asked)
