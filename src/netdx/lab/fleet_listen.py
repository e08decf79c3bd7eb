"""The fleet lab's services: one process holds every host's listeners.

`python -m netdx.lab.fleet_listen NAMESPACE=ADDR:PORT ...` enters each named network
namespace in turn (setns), opens a listening socket there (a socket stays in the namespace
it was made in), goes back to its own namespace (so `ip netns pids` finds it where it was
started and the namespace's removal ends it), prints `ready` and then accepts and closes
connections until it is killed. One python start for a dozen hosts instead of a dozen:
the fleet's start-up stays cheap on a busy machine.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys
from collections.abc import Sequence

READY = "ready"


def _listen(namespace: str, hostport: str) -> socket.socket:
    from netdx.host import linux

    address, _, port = hostport.rpartition(":")
    fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        linux.setns(fd, linux.CLONE_NEWNET)
    finally:
        os.close(fd)
    server = socket.create_server((address, int(port)), backlog=128)
    server.setblocking(False)
    return server


def main(argv: Sequence[str]) -> int:
    from netdx.host import linux

    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    selector = selectors.DefaultSelector()
    try:
        for spec in argv:
            namespace, _, hostport = spec.partition("=")
            selector.register(_listen(namespace, hostport), selectors.EVENT_READ)
    finally:
        linux.setns(own, linux.CLONE_NEWNET)
        os.close(own)
    print(READY, flush=True)
    while True:
        for key, _ in selector.select():
            listener = key.fileobj
            assert isinstance(listener, socket.socket)
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                continue
            conn.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
