"""One query against fake servers on 127.0.0.1 replaying captured bytes: spoofed IDs, garbage,
silence, truncation with the TCP retry, and ICMP port unreachable all end as data, in time."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from netdx.budget import Deadline
from netdx.dns.message import Question
from netdx.dns.query import QueryOptions, query

WIRE = Path(__file__).parent / "fixtures" / "dnswire"
WWW = Question(name="www.example.lab.", rtype="A")
BIG = Question(name="big.example.lab.", rtype="TXT")
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


async def ask(port: int, question: Question = WWW, seconds: float = 0.5) -> object:
    return await query("127.0.0.1", question, deadline=Deadline.after(seconds),
                       options=QueryOptions(port=port))


def test_answer_after_a_spoofed_one_is_accepted() -> None:
    """A datagram with the wrong ID is ignored (and noted); the real answer that follows wins."""
    async def main() -> None:
        async with udp_server(lambda q: [captured("www_a_aa", q, id_delta=1),
                                         captured("www_a_aa", q)]) as port:
            result = await ask(port)
        assert result.status == "ok"  # type: ignore[attr-defined]
        assert result.response.answer[0].value == "10.53.1.10"  # type: ignore[attr-defined]
        assert "wrong ID" in result.notes[0]  # type: ignore[attr-defined]
    asyncio.run(main())


def test_only_wrong_ids_is_bad_id_within_the_deadline() -> None:
    """Answers that never carry our ID end as bad_id when the deadline comes, not a hang."""
    async def main() -> None:
        async with udp_server(lambda q: [captured("www_a_aa", q, id_delta=7)]) as port:
            start = time.monotonic()
            result = await ask(port, seconds=0.3)
        assert result.status == "bad_id"  # type: ignore[attr-defined]
        assert time.monotonic() - start < 0.6
    asyncio.run(main())


def test_garbage_is_malformed_at_once() -> None:
    """Bytes that do not parse end the query as malformed with the parser's reason."""
    async def main() -> None:
        async with udp_server(lambda q: [q[:2] + b"\x81\x80\x00\x01\x00\x01"]) as port:
            result = await ask(port)
        assert result.status == "malformed"  # type: ignore[attr-defined]
        assert "do not parse" in result.error  # type: ignore[attr-defined]
    asyncio.run(main())


def test_bad_compression_pointer_is_malformed() -> None:
    """A pointer aimed outside the message is reported, never followed."""
    def reply(q: bytes) -> list[bytes]:
        data = bytearray(captured("www_a_aa", q))
        at = bytes(data).index(b"\xc0\x0c", 12)
        data[at + 1] = 0xFF
        return [bytes(data)]

    async def main() -> None:
        async with udp_server(reply) as port:
            result = await ask(port)
        assert result.status == "malformed"  # type: ignore[attr-defined]
    asyncio.run(main())


def test_silence_is_a_timeout_at_the_deadline() -> None:
    """A server that never answers gives a timeout when the deadline passes."""
    async def main() -> None:
        async with udp_server(lambda q: []) as port:
            start = time.monotonic()
            result = await ask(port, seconds=0.2)
        assert result.status == "timeout"  # type: ignore[attr-defined]
        assert 0.15 < time.monotonic() - start < 0.5
    asyncio.run(main())


def test_port_unreachable_is_an_error_at_once() -> None:
    """ICMP port unreachable from a closed port is reported at once, not as a timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]

    async def main() -> None:
        start = time.monotonic()
        result = await ask(closed, seconds=2.0)
        assert result.status == "error"  # type: ignore[attr-defined]
        assert "ECONNREFUSED" in result.error  # type: ignore[attr-defined]
        assert time.monotonic() - start < 1.0
    asyncio.run(main())


def test_truncated_answer_is_retried_over_tcp() -> None:
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
                result = await ask(port, BIG)
        assert result.transport == "tcp"  # type: ignore[attr-defined]
        assert "retried over TCP" in result.notes[0]  # type: ignore[attr-defined]
    asyncio.run(main())


def test_tcp_stream_cut_short_is_malformed() -> None:
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
                result = await ask(port, BIG)
        assert result.status == "malformed"  # type: ignore[attr-defined]
        assert "closed after 1 bytes" in result.error  # type: ignore[attr-defined]
    asyncio.run(main())
