"""`netdx serve` without a network: the config file, the scrape budget, the metrics of one
probe (a fresh registry, the cause enum) and the routes of the exporter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netdx.diagnose import CAUSES
from netdx.errors import UsageError
from netdx.model.report import Report, Step, Verdict
from netdx.model.target import Target
from netdx.serve import (
    SCRAPE_MARGIN_S,
    Exporter,
    ModuleConfig,
    ProbeBudget,
    ProbeOutcome,
    ServeConfig,
    debug_text,
    parse_allowlist,
    parse_config,
    probe_budget,
    probe_registry,
    run_probe,
)
from netdx.serve.metrics import exposition
from netdx.target import parse_target

ISSUE_EXAMPLE = """\
allow_targets: [127.0.0.0/8, 10.0.0.0/24, db-server-01]   # CIDRs and names a /probe may target
modules:                                                   # /probe?module=NAME
  default: {timeout: 5}
  db_join: {timeout: 5, ssh: root@db-server-01}
flows: {payments: flows.yaml}
"""


def _report(cause: str, steps: tuple[tuple[str, float], ...] = ()) -> Report:
    return Report(
        target=parse_target("db-server-01:5432"),
        steps=tuple(
            Step(layer=layer, status="pass", summary="", elapsed_ms=ms) for layer, ms in steps
        ),
        verdict=Verdict(cause=cause, summary=cause),
        elapsed_ms=12.0,
    )


def _outcome(report: Report | None, *, budget: ProbeBudget | None = None) -> ProbeOutcome:
    return ProbeOutcome(
        target=parse_target("db-server-01:5432"),
        module="default",
        budget=budget or ProbeBudget(seconds=5, module_timeout=5),
        duration_s=0.25,
        report=report,
        error=None if report is not None else "the check could not run: no ssh",
    )


def _samples(text: str, name: str) -> dict[str, float]:
    """{labels: value} of metric `name` in an exposition."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, value = line.rpartition(" ")
            out[key[len(name) :]] = float(value)
    return out


# --- the config file ------------------------------------------------------------------------


def test_issue_example_config_loads() -> None:
    """The config of issue 12 loads: allowlist, both modules (one with ssh), the flows."""
    config = parse_config(ISSUE_EXAMPLE, source="serve.yaml")
    assert [m.name for m in config.modules] == ["default", "db_join"]
    join = config.module("db_join")
    assert join is not None and join.ssh is not None
    assert join.ssh.destination == "root@db-server-01"
    assert join.settings(3.5).ssh == join.ssh and join.settings(3.5).timeout == 3.5
    assert config.flows == (("payments", "flows.yaml"),)
    assert config.allow.allows(parse_target("db-server-01:5432"))


def test_docs_config_example_loads() -> None:
    """The config shown in docs/monitoring.md is valid, with the modules it names."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "monitoring.md"
    blocks = re.findall(r"```yaml\n(# serve.yaml\n.*?)```", docs.read_text(), re.S)
    assert len(blocks) == 1
    config = parse_config(blocks[0], source="docs")
    assert [m.name for m in config.modules] == ["default", "db_join"]


def test_modules_default_to_one_default_module() -> None:
    """Without `modules:` there is one module, `default`, with a 5 s timeout."""
    config = parse_config("allow_targets: [10.0.0.0/24]\n")
    assert [(m.name, m.timeout) for m in config.modules] == [("default", 5.0)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("- 10.0.0.0/8\n", "serve.yaml: a serve config must be a mapping"),
        ("allow_targets: [10.0.0.0/8\n", "serve.yaml: invalid YAML at line 2"),
        ("modules: {}\n", "serve.yaml: allow_targets: Field required"),
        ("allow_targets: []\n", "serve.yaml: allow_targets: List should have at least 1"),
        ("allow_targets: [10.0.0.1/8]\n", "serve.yaml: allow_targets: '10.0.0.1/8' is not"),
        ("allow_targets: [db]\nallow: [x]\n", "serve.yaml: allow: Extra inputs"),
        ("allow_targets: [db]\nmodules: {m: {timeout: 0}}\n", "modules.m.timeout: Input should"),
        ("allow_targets: [db]\nmodules: {m: {timeout: .nan}}\n", "modules.m.timeout"),
        ("allow_targets: [db]\nmodules: {m: {timout: 5}}\n", "modules.m.timout: Extra inputs"),
        ('allow_targets: [db]\nmodules: {"a b": {}}\n', "modules.a b.[key]: String should"),
        ("allow_targets: [db]\nmodules: {m: {family: 5}}\n", "modules.m.family"),
        ("allow_targets: [db]\nmodules: {m: {dns_servers: [ns1]}}\n", "modules.m.dns_servers"),
        ("allow_targets: [db]\nmodules: {m: {ssh: -oProxyCommand=x}}\n", "modules.m: --ssh"),
        ("allow_targets: [db]\nmodules: {m: {sudo: true}}\n", "modules.m: sudo needs ssh"),
        (
            "allow_targets: [db]\nmodules: {m: {ssh: db, ssh_options: [ProxyCommand=x]}}\n",
            "modules.m: --ssh-option 'ProxyCommand=x': refused",
        ),
        (  # one ssh itself refuses (asked of `ssh -F /dev/null -G`), said at load
            "allow_targets: [db]\nmodules: {m: {ssh: db, ssh_options: [x=y]}}\n",
            "modules.m: ssh_options 'x=y': ssh refuses it: command-line",
        ),
        (
            "allow_targets: [db]\nmodules: {m: {ssh: db, ssh_key: no-such-key}}\n",
            "modules.m: ssh_key: 'no-such-key' is not a file",
        ),
    ],
)
def test_bad_config_is_one_line_naming_file_and_field(text: str, words: str) -> None:
    """Every bad config is a one-line UsageError that names the file and the field."""
    with pytest.raises(UsageError) as caught:
        parse_config(text, source="serve.yaml")
    message = str(caught.value)
    assert words in message
    assert message.startswith("serve.yaml: ") and "\n" not in message


def test_ssh_key_is_read_beside_the_config_file(tmp_path: Path) -> None:
    """A relative ssh_key names a file next to the config, as people keep them."""
    (tmp_path / "id_netdx").write_text("key")
    text = "allow_targets: [db]\nmodules: {m: {ssh: root@db, ssh_key: id_netdx, sudo: true}}\n"
    module = parse_config(text, source=str(tmp_path / "serve.yaml")).module("m")
    assert module is not None and module.ssh is not None
    assert module.ssh.key == str(tmp_path / "id_netdx") and module.ssh.sudo


# --- the budget -----------------------------------------------------------------------------


def test_budget_is_the_module_timeout_without_a_scrape_header() -> None:
    """No X-Prometheus-Scrape-Timeout-Seconds (curl, a browser): the module's timeout."""
    budget = probe_budget(5.0, None)
    assert (budget.seconds, budget.cut_short) == (5.0, False)


def test_budget_keeps_the_module_timeout_when_the_scrape_allows_it() -> None:
    """A scrape timeout longer than the module's timeout plus the margin changes nothing."""
    budget = probe_budget(5.0, "10")
    assert (budget.seconds, budget.cut_short) == (5.0, False)
    assert "CUT SHORT" not in budget.describe()


def test_budget_ends_inside_the_scrape_deadline_and_says_so() -> None:
    """A shorter scrape timeout caps the budget at it minus the margin, flagged as cut."""
    budget = probe_budget(5.0, "3")
    assert budget.seconds == 3 - SCRAPE_MARGIN_S and budget.cut_short
    assert "CUT SHORT" in budget.describe() and "scrape timeout 3 s" in budget.describe()


def test_budget_under_a_tiny_scrape_timeout_is_half_of_it() -> None:
    """A scrape timeout below the margin still gets an answer inside it."""
    assert probe_budget(5.0, "0.4").seconds == 0.2


@pytest.mark.parametrize("header", ["abc", "-1", "0", "nan", "inf", ""])
def test_bad_scrape_header_is_refused(header: str) -> None:
    """A scrape timeout that is not a positive finite number is bad input."""
    with pytest.raises(ValueError, match="X-Prometheus-Scrape-Timeout-Seconds"):
        probe_budget(5.0, header)


# --- the metrics of one probe ---------------------------------------------------------------


@pytest.mark.parametrize("cause", ["ok", "port.filtered", "dns.nxdomain", "service.http_failed"])
def test_cause_enum_has_exactly_one_one(cause: str) -> None:
    """netdx_probe_cause has one series per cause of the vocabulary, exactly one of them 1:
    the verdict's."""
    text = exposition(probe_registry(_outcome(_report(cause)))).decode()
    series = _samples(text, "netdx_probe_cause")
    assert len(series) == len(CAUSES)
    assert [labels for labels, value in series.items() if value == 1] == [f'{{cause="{cause}"}}']
    assert sum(series.values()) == 1


def test_cause_outside_the_vocabulary_is_unknown() -> None:
    """A cause no rule should give (ssh.refused is a warning, never the verdict) keeps the
    series bounded: it shows as unknown."""
    series = _samples(
        exposition(probe_registry(_outcome(_report("ssh.refused")))).decode(), "netdx_probe_cause"
    )
    assert series['{cause="unknown"}'] == 1 and sum(series.values()) == 1
    assert '{cause="ssh.refused"}' not in series


def test_probe_without_a_report_fails_with_cause_unknown() -> None:
    """A check that could not run: success 0, cause unknown, no layer series."""
    text = exposition(probe_registry(_outcome(None))).decode()
    assert _samples(text, "netdx_probe_success") == {"": 0.0}
    assert _samples(text, "netdx_probe_cause")['{cause="unknown"}'] == 1
    assert _samples(text, "netdx_probe_layer_duration_seconds") == {}


def test_each_probe_gets_a_fresh_registry() -> None:
    """A second probe's exposition holds its own values only, nothing of the first."""
    first = probe_registry(_outcome(_report("ok", (("dns", 3.0), ("port", 40.0)))))
    second = probe_registry(_outcome(_report("port.refused", (("port", 2.0),))))
    assert first is not second
    text = exposition(second).decode()
    assert _samples(text, "netdx_probe_layer_duration_seconds") == {'{layer="port"}': 0.002}
    assert _samples(text, "netdx_probe_success") == {"": 0.0}
    assert _samples(exposition(first).decode(), "netdx_probe_success") == {"": 1.0}


def test_metrics_of_a_probe_cut_short() -> None:
    """The budget given and the cut-short flag are exported."""
    budget = probe_budget(5.0, "2")
    text = exposition(probe_registry(_outcome(_report("ok"), budget=budget))).decode()
    assert _samples(text, "netdx_probe_timeout_seconds") == {"": 1.5}
    assert _samples(text, "netdx_probe_cut_short") == {"": 1.0}
    assert _samples(text, "netdx_probe_duration_seconds") == {"": 0.25}


def test_debug_text_holds_budget_report_and_metrics() -> None:
    """debug=true shows how the probe ran, the verdict and the metrics."""
    text = debug_text(_outcome(_report("port.filtered"), budget=probe_budget(5.0, "2")))
    assert "CUT SHORT" in text
    assert "port.filtered" in text
    assert 'netdx_probe_cause{cause="port.filtered"} 1.0' in text


# --- the routes -----------------------------------------------------------------------------


class _Runner:
    """A probe runner that records its calls and answers a fixed verdict."""

    def __init__(self, cause: str = "ok") -> None:
        self.calls: list[tuple[Target, str, ProbeBudget]] = []
        self.cause = cause

    def __call__(self, target: Target, module: ModuleConfig, budget: ProbeBudget) -> ProbeOutcome:
        self.calls.append((target, module.name, budget))
        return ProbeOutcome(
            target=target,
            module=module.name,
            budget=budget,
            duration_s=0.01,
            report=_report(self.cause),
        )


def _exporter(runner: _Runner) -> Exporter:
    config = ServeConfig(
        allow=parse_allowlist(["10.0.0.0/24", "db-server-01"]),
        modules=(ModuleConfig(name="default"), ModuleConfig(name="slow", timeout=20)),
    )
    return Exporter(config, runner=runner)


def test_probe_runs_the_module_under_the_scrape_budget() -> None:
    """/probe with a module and a scrape timeout runs that module with the capped budget and
    answers the text format."""
    runner = _Runner("port.filtered")
    response = _exporter(runner).handle(
        "/probe?target=db-server-01:5432&module=slow",
        {"x-prometheus-scrape-timeout-seconds": "10"},
    )
    assert response.status == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    assert 'netdx_probe_cause{cause="port.filtered"} 1.0' in response.body.decode()
    [(target, module, budget)] = runner.calls
    assert (target.host, target.port, module) == ("db-server-01", 5432, "slow")
    assert budget.seconds == 10 - SCRAPE_MARGIN_S and budget.cut_short


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/probe", 400, "target parameter is missing"),
        ("/probe?module=default", 400, "target parameter is missing"),
        ("/probe?target=10.0.0.1:1&target=10.0.0.2:1", 400, "given 2 times"),
        ("/probe?target=10.0.0.1:1&module=nope", 400, "unknown module 'nope'"),
        ("/probe?target=", 400, "empty target"),
        ("/probe?target=10.0.0.1:99999", 400, "out of range"),
        ("/probe?target=ftp://10.0.0.1/", 400, "unsupported scheme"),
        ("/verify?flows=payments", 404, "not found"),
        ("/nope", 404, "not found"),
    ],
)
def test_bad_requests(path: str, status: int, words: str) -> None:
    """A probe without a usable target or module is a 4xx with the reason; no check runs."""
    runner = _Runner()
    response = _exporter(runner).handle(path, {})
    assert (response.status, runner.calls) == (status, [])
    assert words in response.body.decode()


def test_bad_scrape_header_is_400() -> None:
    """A scrape timeout header that is not a number is a 400, before any check."""
    runner = _Runner()
    response = _exporter(runner).handle(
        "/probe?target=10.0.0.1:1", {"X-Prometheus-Scrape-Timeout-Seconds": "soon"}
    )
    assert (response.status, runner.calls) == (400, [])


def test_debug_probe_answers_the_report() -> None:
    """debug=true answers the text report instead of the metrics."""
    response = _exporter(_Runner("port.refused")).handle(
        "/probe?target=10.0.0.1:1&debug=true", {}
    )
    assert response.status == 200 and response.content_type.startswith("text/plain; charset")
    assert "port.refused" in response.body.decode()


def test_exporter_metrics_count_requests_probes_and_errors() -> None:
    """/metrics counts requests by path and code, probes by module and result, errors."""
    exporter = _exporter(_Runner("port.refused"))
    exporter.handle("/probe?target=10.0.0.1:1", {})
    exporter.handle("/probe?target=10.0.0.1:1&module=nope", {})
    exporter.handle("/probe?target=evil.example:1", {})
    text = exporter.handle("/metrics", {}).body.decode()
    assert 'netdx_serve_requests_total{code="200",path="/probe"} 1.0' in text
    assert 'netdx_serve_requests_total{code="400",path="/probe"} 1.0' in text
    assert 'netdx_serve_requests_total{code="403",path="/probe"} 1.0' in text
    assert 'netdx_serve_probes_total{module="default",result="failure"} 1.0' in text
    assert 'netdx_serve_probes_total{module="default",result="denied"} 1.0' in text
    assert 'netdx_serve_probes_total{module="slow",result="success"} 0.0' in text
    assert 'netdx_serve_errors_total{reason="bad_request"} 1.0' in text
    assert "netdx_serve_probes_in_flight 0.0" in text


def _one_module_config() -> ServeConfig:
    return ServeConfig(
        allow=parse_allowlist(["10.0.0.0/24"]), modules=(ModuleConfig(name="default"),)
    )


def test_usage_error_of_module_and_target_is_400() -> None:
    """A module whose settings contradict the target (-6 on an IPv4 literal) is a 400."""

    def runner(target: Target, module: ModuleConfig, budget: ProbeBudget) -> ProbeOutcome:
        raise UsageError("-6 given but 10.0.0.1 is an IPv4 address")

    config = _one_module_config()
    response = Exporter(config, runner=runner).handle("/probe?target=10.0.0.1:1", {})
    assert response.status == 400 and b"IPv4 address" in response.body


def test_a_bug_in_a_check_is_500_and_the_exporter_lives_on() -> None:
    """An exception from the check answers 500 and is counted; the next probe works."""
    state = {"fail": True}

    def runner(target: Target, module: ModuleConfig, budget: ProbeBudget) -> ProbeOutcome:
        if state.pop("fail", False):
            raise RuntimeError("boom")
        return _Runner()(target, module, budget)

    config = _one_module_config()
    exporter = Exporter(config, runner=runner)
    assert exporter.handle("/probe?target=10.0.0.1:1", {}).status == 500
    assert exporter.handle("/probe?target=10.0.0.1:1", {}).status == 200
    assert 'netdx_serve_errors_total{reason="internal"} 1.0' in exporter.metrics.render().decode()


# --- running a probe ------------------------------------------------------------------------


def test_a_check_that_overruns_is_abandoned_with_cause_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A check still running past budget + grace is answered without it: no verdict,
    cause unknown, flagged as cut short, and the request does not wait for it."""
    import asyncio

    import netdx.check

    async def stuck(target: Target, settings: object) -> Report:
        await asyncio.sleep(3)
        raise AssertionError("not reached in time")

    monkeypatch.setattr(netdx.check, "run_check", stuck)
    budget = ProbeBudget(seconds=0.1, module_timeout=5)
    outcome = run_probe(parse_target("10.0.0.1:1"), ModuleConfig(name="m"), budget)
    assert outcome.overran and outcome.report is None and outcome.cause == "unknown"
    assert outcome.duration_s < 2.5  # the guard: it did not wait for the 3 s check
    text = exposition(probe_registry(outcome)).decode()
    assert _samples(text, "netdx_probe_cut_short") == {"": 1.0}


def test_a_check_that_cannot_run_is_an_outcome_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CannotRun (no ssh binary, say) gives success 0, cause unknown and the reason."""
    import netdx.check
    from netdx.errors import CannotRun

    async def cannot(target: Target, settings: object) -> Report:
        raise CannotRun("ssh: not found")

    monkeypatch.setattr(netdx.check, "run_check", cannot)
    budget = ProbeBudget(seconds=1, module_timeout=1)
    outcome = run_probe(parse_target("10.0.0.1:1"), ModuleConfig(name="m"), budget)
    assert (outcome.success, outcome.cause, outcome.overran) == (False, "unknown", False)
    assert outcome.error == "the check could not run: ssh: not found"
