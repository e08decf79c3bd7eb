"""Runs netdx's side of one SSH session from inside the client namespace (the lab test
starts it with `ip netns exec`) and prints what happened as one JSON object.

argv[1] is a JSON object: {"destination", "key", "known_hosts", "sudo", "budget",
"request", "mode": "session" | "once", "between": seconds to wait between before and after,
"hook": a program the test runs between before and after (argv list, or null)}. The elapsed
time is measured here, against the budget, so the test does not depend on machine speed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from dataclasses import asdict
from typing import Any

from netdx.budget import Deadline
from netdx.host.ssh import SshOptions, SshSession, collect_once


async def session(opts: SshOptions, spec: dict[str, Any], deadline: Deadline) -> dict[str, Any]:
    s = await SshSession.open(opts, spec["request"], deadline)
    try:
        before = await s.before()
        if spec.get("hook"):
            subprocess.run(spec["hook"], check=True, timeout=20)
        await asyncio.sleep(spec.get("between", 0.0))
        after = await s.after()
    finally:
        await s.close()
    return {"outcome": s.outcome, "before": before, "after": after}


def main() -> None:
    spec = json.loads(sys.argv[1])
    opts = SshOptions(
        destination=spec["destination"],
        key=spec.get("key"),
        known_hosts=spec.get("known_hosts"),
        options=tuple(tuple(o) for o in spec.get("options", ())),
        sudo=spec.get("sudo", False),
    )
    start = time.monotonic()
    deadline = Deadline.after(spec["budget"])
    if spec.get("mode") == "once":
        outcome, document = collect_once(opts, spec["request"], deadline)
        result: dict[str, Any] = {"outcome": outcome, "before": document, "after": None}
    else:
        result = asyncio.run(session(opts, spec, deadline))
    result["outcome"] = asdict(result["outcome"])
    result["elapsed"] = time.monotonic() - start
    print(json.dumps(result))


if __name__ == "__main__":
    main()
