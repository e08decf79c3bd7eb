"""`check`'s TLS and HTTP options in the service-tls-error lab (web-01's self-signed
certificate): untrusted against the system store, ok with that certificate as --cacert,
ok with -k but saying verification was skipped, and a status outside --expect-status is
the finding; the terminal shows the phase timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from netdx.lab import Lab, load_scenario

pytestmark = pytest.mark.lab

URL = "https://web-01.netdx.internal:8443/health"
HANG_GUARD_S = 60.0  # only a guard against a hang: the budget is the check's own --timeout


def _check(lab: Lab, *options: str, as_json: bool = True) -> tuple[int, str]:
    argv = [sys.executable, "-m", "netdx", "check", URL, *options]
    argv += ["--json"] if as_json else []
    proc = subprocess.run(lab.exec_argv("client", argv), capture_output=True, text=True,
                          timeout=HANG_GUARD_S)  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


def _verdict(out: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(out)
    verdict: dict[str, Any] = doc["verdict"]
    return verdict


def test_cacert_insecure_and_expect_status(lab_env: Path) -> None:
    """One lab, five checks: the system store says untrusted; the lab's certificate as
    --cacert verifies; -k answers but never claims trust; --expect-status 204 against the
    200 fails; --method HEAD with a header passes and prints DNS..total timings."""
    with Lab(load_scenario("service-tls-error")) as lab:
        assert lab.workdir is not None
        cert = lab.workdir / "web-01-cert.pem"
        code, out = _check(lab)
        assert code == 1 and _verdict(out)["cause"] == "service.tls_untrusted", out
        code, out = _check(lab, "--cacert", str(cert))
        verdict = _verdict(out)
        assert code == 0 and verdict["cause"] == "ok", out
        assert any(f"verified against --cacert {cert}" in e for e in verdict["evidence"]), out
        code, out = _check(lab, "-k")
        verdict = _verdict(out)
        assert code == 0 and verdict["cause"] == "ok", out
        assert any("verification SKIPPED (-k)" in e for e in verdict["evidence"]), out
        assert not any("verified against" in e for e in verdict["evidence"]), out
        code, out = _check(lab, "-k", "--expect-status", "204")
        verdict = _verdict(out)
        assert code == 1 and verdict["cause"] == "service.http_error", out
        assert "answered HTTP 200, expected 204" in verdict["summary"], out
        code, out = _check(lab, "--cacert", str(cert), "--method", "HEAD",
                           "--header", "X-Probe: lab", as_json=False)  # fmt: skip
        assert code == 0 and "HEAD https://web-01.netdx.internal:8443/health" in out, out
        assert "timings: DNS " in out and ", TLS " in out and "first byte at" in out, out
