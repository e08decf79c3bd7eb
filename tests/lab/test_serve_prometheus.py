"""A real Prometheus scrapes `netdx serve` in the payment scenario's client namespace, with
the scrape config and alert rules of docs/monitoring.md, and finds the cause: port.filtered
for db-server-01:5432, from the client alone and read from both ends over SSH."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from netdx.budget import Deadline
from netdx.diagnose import CAUSES
from netdx.lab import Lab, load_scenario

pytestmark = pytest.mark.lab

DOCS = Path(__file__).resolve().parents[2] / "docs" / "monitoring.md"
PROMETHEUS, PROMTOOL = "/usr/bin/prometheus", "/usr/bin/promtool"
SERVE, PROM = "127.0.0.1:9799", "127.0.0.1:9090"  # inside the client namespace
TARGET, DENIED = "db-server-01:5432", "evil.example:22"
# Scrapes every 2 s with a 2 s timeout: the check gets 1.5 s, enough for port.filtered.
INTERVAL = "2s"
TEST_BUDGET_S = 40.0


def docs_block(name: str) -> str:
    """The ```yaml block of docs/monitoring.md whose first line is `# NAME`."""
    for block in re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.S):
        if block.splitlines()[0].strip() == f"# {name}":
            return str(block)
    raise AssertionError(f"no `# {name}` block in {DOCS}")


def test_docs_scrape_config_and_rules_pass_promtool(tmp_path: Path) -> None:
    """The scrape config and alert rules shown in docs/monitoring.md are valid for
    Prometheus' own checker."""
    for name, kind in (("prometheus.yml", "config"), ("netdx-alerts.yml", "rules")):
        path = tmp_path / name
        path.write_text(docs_block(name))
        done = subprocess.run(
            [PROMTOOL, "check", kind, str(path)], capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stdout + done.stderr


def _prometheus_config(rules: Path) -> str:
    """The docs' scrape config with the lab's interval, targets and rules."""
    config = yaml.safe_load(docs_block("prometheus.yml"))
    config["global"] = {"scrape_interval": INTERVAL, "evaluation_interval": "1s"}
    config["rule_files"] = [str(rules)]
    for job in config["scrape_configs"]:
        job["scrape_interval"] = job["scrape_timeout"] = INTERVAL
        if job["job_name"] == "netdx":
            job["static_configs"] = [{"targets": [TARGET, DENIED]}]
    return str(yaml.safe_dump(config))


def _serve_config(ssh: list[str]) -> str:
    options = dict(zip(ssh[::2], ssh[1::2], strict=True))
    db_join = {
        "timeout": 5,
        "ssh": options["--ssh"],
        "ssh_key": options["--ssh-key"],
        "known_hosts": options["--known-hosts"],
    }
    return yaml.safe_dump(
        {
            "allow_targets": ["10.0.0.0/24", "db-server-01"],
            "modules": {"default": {"timeout": 5}, "db_join": db_join},
        }
    )


@contextmanager
def _started(argv: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run argv (an `ip netns exec`, which execs: the pid is the program's), stopped by
    its pid at the end."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _until(deadline: Deadline, what: str, probe: Callable[[], Any], logs: list[Path]) -> Any:
    """Call probe() every 0.5 s until it returns something true; fail at the deadline."""
    last: Any = None
    while not deadline.expired:
        last = probe()
        if last:
            return last
        time.sleep(min(0.5, max(deadline.remaining(), 0)))
    shown = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}" for log in logs)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})\n{shown}")


class _Namespace:
    """HTTP from inside the lab's client namespace (curl there: the servers listen on its
    loopback, which the root namespace cannot reach)."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def get(self, url: str, *query: str, scrape_timeout: int = 0) -> str | None:
        """GET url?query (as a scrape with that timeout when given): the body, or None."""
        argv = ["curl", "-sS", "--max-time", str(scrape_timeout or 2), "-G", url]
        if scrape_timeout:
            argv += ["-H", f"X-Prometheus-Scrape-Timeout-Seconds: {scrape_timeout}"]
        for item in query:
            argv += ["--data-urlencode", item]
        done = subprocess.run(
            self.lab.exec_argv("payment", argv), capture_output=True, text=True, timeout=10
        )
        return done.stdout if done.returncode == 0 else None

    def values(self, expr: str) -> dict[tuple[str, str], str]:
        """Prometheus' instant query: {(job, instance): value}."""
        text = self.get(f"http://{PROM}/api/v1/query", f"query={expr}")
        found = json.loads(text)["data"]["result"] if text else []
        return {(r["metric"].get("job", ""), r["metric"]["instance"]): r["value"][1] for r in found}

    def alerts(self, name: str, instance: str) -> list[dict[str, Any]]:
        text = self.get(f"http://{PROM}/api/v1/alerts") or "{}"
        found = json.loads(text).get("data", {}).get("alerts", [])
        return [
            a
            for a in found
            if a["labels"].get("alertname") == name and a["labels"].get("instance") == instance
        ]


def test_prometheus_finds_port_filtered_for_the_payment_target(
    lab_env: Path, tmp_path: Path
) -> None:
    """Prometheus, scraping `netdx serve` every 2 s in the payment client's namespace, holds
    netdx_probe_cause{cause="port.filtered"} 1 for db-server-01:5432 (client-only and with
    ssh:), the other causes 0, `up` 0 for a target the config does not allow, and the docs'
    NetdxProbeFailing alert pending with the cause."""
    deadline = Deadline.after(TEST_BUDGET_S)
    rules = tmp_path / "netdx-alerts.yml"
    rules.write_text(docs_block("netdx-alerts.yml"))
    (tmp_path / "prometheus.yml").write_text(_prometheus_config(rules))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    serve_log, prom_log = tmp_path / "serve.log", tmp_path / "prometheus.log"
    serve_argv = [sys.executable, "-m", "netdx", "serve", "--listen", SERVE]
    serve_argv += ["--config", str(tmp_path / "serve.yaml")]
    prom_argv = [
        PROMETHEUS,
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address={PROM}",
        "--log.level=warn",
    ]
    logs = [serve_log, prom_log]
    with Lab(load_scenario("payment-db-firewall")) as lab:
        (tmp_path / "serve.yaml").write_text(_serve_config(lab.ssh_argv()))
        ns = _Namespace(lab)
        both = {("netdx", TARGET), ("netdx_db_join", TARGET)}
        with (
            _started(lab.exec_argv("payment", serve_argv), serve_log, env),
            _started(lab.exec_argv("payment", prom_argv), prom_log, env),
        ):
            def scraped() -> bool:
                filtered = ns.values('netdx_probe_cause{cause="port.filtered"} == 1')
                return (
                    filtered.keys() >= both
                    and bool(ns.values(f'up{{instance="{DENIED}"}}'))
                    and bool(ns.values('netdx_serve_probes_total{result="denied"} > 0'))
                )

            _until(deadline, "every target scraped, port.filtered for both jobs", scraped, logs)
            scope = f'{{instance="{TARGET}"}}'
            assert ns.values(f"sum by (job, instance) (netdx_probe_cause{scope})") == {
                key: "1" for key in both
            }
            counts = ns.values(f"count by (job, instance) (netdx_probe_cause{scope})")
            assert counts == {key: str(len(CAUSES)) for key in both}
            assert ns.values(f"netdx_probe_success{scope}") == {key: "0" for key in both}
            assert ns.values(f'up{{instance="{DENIED}"}}') == {("netdx", DENIED): "0"}
            # The module with ssh: reads the server too: the rule is named and confirmed.
            debug = ns.get(
                f"http://{SERVE}/probe",
                f"target={TARGET}",
                "module=db_join",
                "debug=true",
                scrape_timeout=3,
            )
            assert debug is not None and "port.filtered" in debug, debug
            assert "(confirmed)" in debug and "CUT SHORT" in debug, debug
            alerts = _until(
                deadline,
                "the NetdxProbeFailing alert",
                lambda: ns.alerts("NetdxProbeFailing", TARGET),
                logs,
            )
            assert {a["labels"]["cause"] for a in alerts} == {"port.filtered"}
