"""The server end of a `--ssh` session: collect before, arm the capture, wait, collect after.

netdx writes one JSON line, the session request, after the bundle on the collector's stdin:

    {"schema": "netdx.session/1", "timeout": 4.5,
     "before": {CollectRequest}, "after": {CollectRequest} | null,
     "capture": {"port": 5432, "peer": "10.0.0.10" | null, "proto": "tcp"} | null}

and reads JSON lines back: `{"phase": "before", "document": ...}` once the first collection
is done and the capture (if asked) is armed; then, on the line `go`, on EOF or at the
session's own deadline, `{"phase": "after", "document": ... | null, "woke": ...}`. A bad
request is one stderr line and exit 2. Nothing is written anywhere but stdout and stderr.

Python 3.9 and the standard library only: this runs on the server under `python3 -I -S`.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
from typing import IO, Any

from netdx.netlink._compat import value

from .clock import Deadline
from .document import CollectRequest, collect
from .system import LocalHost

SCHEMA = "netdx.session/1"
GO = b"go"
# The after collection and the capture's drain need time of their own: the wait for `go`
# ends this long before the session's deadline (at most this share of the timeout).
AFTER_RESERVE_S = 1.0
AFTER_RESERVE_SHARE = 0.3
DRAIN_S = 0.2


@value
class Request:
    """A validated session request."""

    timeout: float
    before: CollectRequest
    after: CollectRequest | None
    capture: dict[str, Any] | None

    @classmethod
    def from_json(cls, data: object) -> Request:
        """Validate a decoded request; ValueError says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("a session request is a JSON object")
        unknown = set(data) - {"schema", "timeout", "before", "after", "capture"}
        if unknown:
            raise ValueError(f"unknown session fields: {sorted(unknown)}")
        if data.get("schema") != SCHEMA:
            raise ValueError(f"schema must be {SCHEMA!r}")
        timeout = data.get("timeout")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise ValueError("timeout must be a number of seconds")
        if not 0 < timeout <= 3600:
            raise ValueError("timeout must be in (0, 3600] seconds")
        if not isinstance(data.get("before"), dict):
            raise ValueError("before must be a collect request object")
        after = data.get("after")
        if after is not None and not isinstance(after, dict):
            raise ValueError("after must be a collect request object or null")
        return cls(
            timeout=float(timeout),
            before=CollectRequest.from_json(data["before"]),
            after=None if after is None else CollectRequest.from_json(after),
            capture=_capture_request(data.get("capture")),
        )


def _capture_request(data: object) -> dict[str, Any] | None:
    if data is None:
        return None
    if not isinstance(data, dict) or set(data) - {"port", "peer", "proto"}:
        raise ValueError("capture must be {port, peer, proto} or null")
    port = data.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError("capture port must be an integer in 1..65535")
    peer = data.get("peer")
    if peer is not None and not isinstance(peer, str):
        raise ValueError("capture peer must be an address or null")
    proto = data.get("proto", "tcp")
    if proto != "tcp":
        raise ValueError("capture proto must be 'tcp'")
    return {"port": port, "peer": peer, "proto": proto}


def _entry(error: str | None, needs_root: bool = False, **data: Any) -> dict[str, Any]:
    return {"error": error, "needs_root": needs_root, "data": data}


def _open_capture(spec: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The armed capture (or None) and its entry for the before document."""
    try:
        # Imported by name: the packet capture is an optional part of the bundle.
        capture = importlib.import_module(".capture", __package__)
    except ImportError:
        return None, _entry("capture not available")
    try:
        handle = capture.open_capture(port=spec["port"], peer=spec["peer"], proto=spec["proto"])
    except OSError as exc:
        return None, _entry(str(exc.strerror or exc), isinstance(exc, PermissionError))
    return handle, _entry(None, armed=True)


def _drain(handle: Any, deadline: Deadline) -> dict[str, Any]:
    try:
        data = handle.drain(min(DRAIN_S, deadline.remaining()))
    except OSError as exc:
        return _entry(str(exc.strerror or exc), isinstance(exc, PermissionError))
    return {"error": None, "needs_root": False, "data": data}


class _Waker:
    """Waits for the line `go` (or EOF) on stdin in a daemon thread, so that the main
    thread can wait for it with a deadline. The process ends with os._exit, so the thread
    blocked in read never holds up (or crashes) the interpreter's shutdown."""

    def __init__(self, stdin: IO[bytes]) -> None:
        self._stdin = stdin
        self._event = threading.Event()
        self.woke = "deadline"
        thread = threading.Thread(target=self._read, name="netdx-session-go", daemon=True)
        thread.start()

    def _read(self) -> None:
        try:
            while True:
                line = self._stdin.readline()
                if not line:
                    self.woke = "eof"
                    break
                if line.strip() == GO:
                    self.woke = "go"
                    break
        except (OSError, ValueError):
            self.woke = "eof"
        self._event.set()

    def wait(self, deadline: Deadline) -> str:
        self._event.wait(deadline.remaining())
        return self.woke if self._event.is_set() else "deadline"


def _write(stdout: IO[bytes], message: dict[str, Any]) -> None:
    stdout.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
    stdout.flush()


def run(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    """Read the request from `stdin`, then run the session; the exit status."""
    line = stdin.readline()
    try:
        request = Request.from_json(json.loads(line.decode("utf-8")))
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        print(f"netdx-collect: bad request: {exc}", file=sys.stderr)
        return 2
    deadline = Deadline.after(request.timeout)
    host = LocalHost()
    before = collect(host, request.before, deadline.within(request.before.timeout))
    handle, entry = None, None
    if request.capture is not None:
        handle, entry = _open_capture(request.capture)
        before["collectors"]["capture"] = entry
    waker = _Waker(stdin)
    _write(stdout, {"phase": "before", "document": before})
    reserve = min(AFTER_RESERVE_S, request.timeout * AFTER_RESERVE_SHARE)
    woke = waker.wait(Deadline(deadline.at - reserve))
    after = None
    if request.after is not None:
        after = collect(host, request.after, deadline.within(request.after.timeout))
    if entry is not None:
        # Drained into the after document; a capture that never opened says so there too.
        drained = entry if handle is None else _drain(handle, deadline)
        if after is not None:
            after["collectors"]["capture"] = drained
    _write(stdout, {"phase": "after", "document": after, "woke": woke})
    return 0


def main() -> None:
    """The bootstrap's entry point: run the session on this process's stdin and stdout."""
    try:
        code = run(sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:
        code = 1  # netdx went away: nobody is left to read an answer
    sys.stderr.flush()
    # The go-reader thread may still block in stdin's read: leave without joining it.
    os._exit(code)
