"""Issue 10: `check 127.0.0.1:PORT` said "connected in 19.7-23 ms" where a plain connect
takes 0.02 ms: the event loop noticed the finished connect late while other probes' work
held it. The connect's time now comes from the kernel (TCP_INFO)."""

from __future__ import annotations

import asyncio
import socket
import time

from netdx.budget import Deadline
from netdx.probes.tcp import connect_ms, tcp_connect


def test_connect_ms_takes_the_syn_ack_time_not_the_loops() -> None:
    """The loop noticed after 22.5 ms, the SYN-ACK came 22 ms before that, the handshake
    RTT was 0.04 ms: the connect took 0.5 ms."""
    assert connect_ms(22.5, 22.0, 0.04) == 0.5


def test_connect_ms_is_never_below_the_rtt_nor_above_what_the_loop_saw() -> None:
    """Jiffy rounding can make 'since the ACK' exceed what the loop saw: the RTT is the
    floor; and the result never exceeds the loop's own measure."""
    assert connect_ms(3.0, 4.0, 0.03) == 0.03
    assert connect_ms(1.2, 0.0, 5.0) == 1.2


def test_a_held_event_loop_does_not_inflate_a_loopback_connect() -> None:
    """A coroutine that blocks the loop for 1 s right after the SYN leaves: the loopback
    connect is still reported far below that (the kernel's clock, not the loop's)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    async def main() -> float:
        async def hold() -> None:
            await asyncio.sleep(0)
            time.sleep(1.0)  # another probe's synchronous work

        holder = asyncio.create_task(hold())
        result = await tcp_connect("127.0.0.1", port, deadline=Deadline.after(10))
        await holder
        assert result.outcome == "connected"
        return result.elapsed_ms

    try:
        took = asyncio.run(main())
    finally:
        listener.close()
    assert took < 500.0, took
