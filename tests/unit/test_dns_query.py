"""One query against fake servers on 127.0.0.1 replaying captured bytes: spoofed IDs, garbage,
silence, truncation with the TCP retry, and ICMP port unreachable all end as data, in time.
Every test runs through both drivers of the one transport: asyncio (`dns.query`) and the
trace's selectors loop (`dns.flights`, in a thread while the fake servers serve)."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from netdx.budget import Deadline
from netdx.dns.flights import Flights
from netdx.dns.query import QueryOptions, query
from netdx.model.evidence import DnsQuestion, DnsServerAnswer

WIRE = Path(__file__).parent / "fixtures" / "dnswire"
WWW = DnsQuestion(name="www.example.lab.", rtype="A")
BIG = DnsQuestion(name="big.example.lab.", rtype="TXT")
Reply = Callable[[bytes], list[bytes]]  # query bytes -> datagrams to send back


def captured(name: str, query_wire: bytes, *, id_delta: int = 0) -> bytes:
    """A captured response with its ID set to the query's (plus `id_delta`)."""
    data = (WIRE / f"{name}.bin").read_bytes()
    msg_id = (int.from_bytes(query_wire[:2], "big") + id_delta) & 0xFFFF
    return msg_id.to_bytes(2, "big") + data[2:]


class _Server(asyncio.DatagramProtocol):
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        for out in self.reply(data):
            self.transport.sendto(out, addr)  # type: ignore[attr-defined]


@asynccontextmanager
async def udp_server(reply: Reply) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Server(reply),
                                                       local_addr=("127.0.0.1", 0))
    try:
        yield transport.get_extra_info("sockname")[1]
    finally:
        transport.close()


HANG_GUARD_S = 30.0  # only catches a hang; budgets are checked against elapsed_ms


@pytest.fixture(params=["asyncio", "selectors"])
def driver(request: pytest.FixtureRequest) -> str:
    """Which driver of the transport asks: `dns.query` or `dns.flights`."""
    return str(request.param)


async def ask(port: int, question: DnsQuestion = WWW, seconds: float = 5.0,
              first_retry_s: float | None = None, deadline: Deadline | None = None,
              *, driver: str = "asyncio") -> DnsServerAnswer:
    options = QueryOptions(port=port, first_retry_s=first_retry_s)
    deadline = deadline or Deadline.after(seconds)
    if driver == "asyncio":
        return await asyncio.wait_for(
            query("127.0.0.1", question, deadline=deadline, options=options), HANG_GUARD_S)
    return await asyncio.wait_for(asyncio.to_thread(fly, question, deadline, options),
                                  HANG_GUARD_S)


def fly(question: DnsQuestion, deadline: Deadline, options: QueryOptions) -> DnsServerAnswer:
    """One query through `Flights`, as the trace sends it."""
    flights = Flights()
    try:
        flights.start(7, "127.0.0.1", question, deadline=deadline, options=options)
        done = flights.wait(Deadline.after(HANG_GUARD_S))
    finally:
        flights.close()
    assert [key for key, _ in done] == [7] and len(flights) == 0
    return done[0][1]


def notes(result: DnsServerAnswer) -> tuple[str, ...]:
    assert result.exchange is not None
    return result.exchange.notes


def test_answer_after_a_spoofed_one_is_accepted(driver: str) -> None:
    """A datagram with the wrong ID is ignored (and noted); the real answer that follows wins."""
    async def main() -> None:
        async with udp_server(lambda q: [captured("www_a_aa", q, id_delta=1),
                                         captured("www_a_aa", q)]) as port:
            result = await ask(port, driver=driver)
        assert result.status == "ok"
        assert result.records[0].value == "10.53.1.10"
        assert "wrong ID" in notes(result)[0]
    asyncio.run(main())


def test_only_wrong_ids_is_bad_id_within_the_deadline(driver: str) -> None:
    """Answers that never carry our ID end as bad_id when the deadline comes, not a hang."""
    async def main() -> None:
        async with udp_server(lambda q: [captured("www_a_aa", q, id_delta=7)]) as port:
            deadline = Deadline.after(0.3)
            result = await ask(port, deadline=deadline, driver=driver)
        assert result.status == "bad_id"
        assert deadline.expired  # it kept listening for the real answer until then
    asyncio.run(main())


def test_garbage_is_malformed_at_once(driver: str) -> None:
    """Bytes that do not parse end the query as malformed with the parser's reason."""
    async def main() -> None:
        async with udp_server(lambda q: [q[:2] + b"\x81\x80\x00\x01\x00\x01"]) as port:
            result = await ask(port, driver=driver)
        assert result.status == "malformed"
        assert result.error is not None and "do not parse" in result.error
    asyncio.run(main())


def test_bad_compression_pointer_is_malformed(driver: str) -> None:
    """A pointer aimed outside the message is reported, never followed."""
    def reply(q: bytes) -> list[bytes]:
        data = bytearray(captured("www_a_aa", q))
        at = bytes(data).index(b"\xc0\x0c", 12)
        data[at + 1] = 0xFF
        return [bytes(data)]

    async def main() -> None:
        async with udp_server(reply) as port:
            result = await ask(port, driver=driver)
        assert result.status == "malformed"
    asyncio.run(main())


def test_silence_is_a_timeout_at_the_deadline(driver: str) -> None:
    """A server that never answers gives a timeout when the query's own 0.2 s budget is
    spent: not before (its elapsed time), and not long after (the hang guard)."""
    async def main() -> None:
        async with udp_server(lambda q: []) as port:
            deadline = Deadline.after(0.2)
            result = await ask(port, deadline=deadline, driver=driver)
        assert result.status == "timeout"
        assert deadline.expired
        assert result.error == "no answer before the deadline"
    asyncio.run(main())


def test_silent_udp_query_is_sent_again(driver: str) -> None:
    """A lost datagram is sent again after `first_retry_s` (then twice as long), like glibc:
    a server that drops the first copy still answers within the budget."""
    seen: list[bytes] = []

    def second_copy_only(q: bytes) -> list[bytes]:
        seen.append(q)
        return [captured("www_a_aa", q)] if len(seen) == 2 else []

    async def main() -> None:
        async with udp_server(second_copy_only) as port:
            result = await ask(port, first_retry_s=0.05, driver=driver)
        assert result.status == "ok" and len(seen) == 2 and seen[0] == seen[1]
    asyncio.run(main())


def test_port_unreachable_is_an_error_at_once(driver: str) -> None:
    """ICMP port unreachable from a closed port is reported at once, not as a timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]

    async def main() -> None:
        result = await ask(closed, seconds=20.0, driver=driver)
        # An error rather than a timeout: the ICMP came back, the budget was not waited out.
        assert (result.status, result.error) == (
            "error", "connection refused (ICMP port unreachable)")
    asyncio.run(main())


def test_truncated_answer_is_retried_over_tcp(driver: str) -> None:
    """TC over UDP makes the query ask again over TCP on the same port, like dig."""
    tcp_answer = (WIRE / "www_a_aa.bin").read_bytes()

    async def serve_tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        size = int.from_bytes(await reader.readexactly(2), "big")
        q = await reader.readexactly(size)
        out = q[:2] + tcp_answer[2:]
        writer.write(len(out).to_bytes(2, "big") + out)
        await writer.drain()
        writer.close()

    async def main() -> None:
        async with udp_server(lambda q: [captured("big_txt_tc", q)]) as port:
            server = await asyncio.start_server(serve_tcp, "127.0.0.1", port)
            async with server:
                result = await ask(port, BIG, driver=driver)
        assert result.exchange is not None and result.exchange.transport == "tcp"
        assert "retried over TCP" in notes(result)[0]
    asyncio.run(main())


def test_tcp_stream_cut_short_is_malformed(driver: str) -> None:
    """After TC, a TCP server that closes mid-message gives `malformed`, not a hang."""
    async def serve_tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(2)
        writer.write(b"\x01\x00\x12")  # announces 256 bytes, sends one
        await writer.drain()
        writer.close()

    async def main() -> None:
        async with udp_server(lambda q: [captured("big_txt_tc", q)]) as port:
            server = await asyncio.start_server(serve_tcp, "127.0.0.1", port)
            async with server:
                result = await ask(port, BIG, driver=driver)
        assert result.status == "malformed"
        assert result.error is not None and "closed after 1 bytes" in result.error
    asyncio.run(main())


def test_tcp_stream_reset_is_an_error(driver: str) -> None:
    """After TC, a TCP server that resets the stream instead of answering gives an error
    naming the reset, at once, not a hang or a spin."""
    async def serve_tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        size = int.from_bytes(await reader.readexactly(2), "big")
        await reader.readexactly(size)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # SO_LINGER 0: the close sends a reset

    async def main() -> None:
        async with udp_server(lambda q: [captured("big_txt_tc", q)]) as port:
            server = await asyncio.start_server(serve_tcp, "127.0.0.1", port)
            async with server:
                result = await ask(port, BIG, seconds=20.0, driver=driver)
        assert (result.status, result.error) == (
            "error", "TCP: connection reset by peer (ECONNRESET)")
    asyncio.run(main())

