"""Reading captured netlink exchanges: one `.hex` file per case, `> ` the request and one
`< ` line per reply datagram (written by the fixtures' capture.py scripts)."""

from __future__ import annotations

from pathlib import Path


def load_case(folder: Path, case: str) -> tuple[bytes, list[bytes]]:
    """(request, reply datagrams) of one captured case in `folder`."""
    request = b""
    replies: list[bytes] = []
    for line in (folder / f"{case}.hex").read_text().splitlines():
        if line.startswith("> "):
            request = bytes.fromhex(line[2:])
        elif line.startswith("< "):
            replies.append(bytes.fromhex(line[2:]))
    return request, replies
