"""The HTTP side of `netdx serve`: routes a request to a probe or the exporter's metrics.

`Exporter.handle(path, headers)` is the whole application, with no socket in it (the unit
tests drive it with a fake probe runner); `make_server` puts it behind the stdlib
`ThreadingHTTPServer`, one thread per request, so a slow check (a filtered port waits out
its budget) never holds up another scrape.

The allowlist is applied before anything else happens to a target: a target the config
does not allow gets 403 and nothing is sent, not even a DNS query.
"""

from __future__ import annotations

import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from netdx.errors import TargetError, UsageError
from netdx.model.record import record
from netdx.model.target import Target
from netdx.serve.config import DEFAULT_MODULE, ModuleConfig, ServeConfig
from netdx.serve.metrics import CONTENT_TYPE, ExporterMetrics, debug_text, exposition
from netdx.serve.probe import ProbeBudget, ProbeOutcome, probe_budget, run_probe

# Checks that may run at once. Each holds sockets, maybe an ssh process and a thread; a
# Prometheus with many targets scrapes them together, so a request waits for a slot (on
# its own budget) rather than being refused; past this the machine, not netdx, is the limit.
MAX_PROBES_IN_FLIGHT = 16
SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"
TEXT = "text/plain; charset=utf-8"

ProbeRunner = Callable[[Target, ModuleConfig, ProbeBudget], ProbeOutcome]


@record
class Response:
    """An HTTP answer: status, content type, body."""

    status: int
    body: bytes
    content_type: str = TEXT


def _text(status: int, message: str) -> Response:
    return Response(status=status, body=(message + "\n").encode())


class Exporter:
    """The application: `/probe`, `/metrics` and a small index page."""

    def __init__(self, config: ServeConfig, *, runner: ProbeRunner = run_probe) -> None:
        self.config = config
        self.metrics = ExporterMetrics()
        self._runner = runner
        self._slots = threading.BoundedSemaphore(MAX_PROBES_IN_FLIGHT)
        for module in config.modules:
            for result in ExporterMetrics.RESULTS:
                self.metrics.probes.labels(module=module.name, result=result)

    def handle(self, raw_path: str, headers: Mapping[str, str]) -> Response:
        """Answer one GET; count it by route and status."""
        url = urlsplit(raw_path)
        route = url.path if url.path in ("/", "/probe", "/metrics") else "other"
        if url.path == "/probe":
            response = self._probe(url.query, headers)
        elif url.path == "/metrics":
            response = Response(status=200, body=self.metrics.render(), content_type=CONTENT_TYPE)
        elif url.path == "/":
            response = _text(200, self._index())
        else:
            response = _text(404, f"not found: {url.path[:100]!r} (try /probe or /metrics)")
        self.metrics.count_request(route, response.status)
        return response

    def _index(self) -> str:
        modules = ", ".join(m.name for m in self.config.modules)
        return (
            "netdx serve: a Prometheus exporter of `netdx check`\n"
            "  /probe?target=HOST:PORT&module=NAME[&debug=true]\n"
            "  /metrics  (the exporter's own metrics)\n"
            f"modules: {modules}\n"
            f"allowed targets: {self.config.allow.describe()}\n"
        )

    def _probe(self, query: str, headers: Mapping[str, str]) -> Response:
        try:
            params = parse_qs(query, keep_blank_values=True, max_num_fields=16)
        except ValueError:
            return self._refused("bad_request", 400, "too many query parameters")
        problem = _single(params, "target", required=True) or _single(params, "module")
        problem = problem or _single(params, "debug")
        if problem:
            return self._refused("bad_request", 400, problem)
        module_name = params.get("module", [DEFAULT_MODULE])[0]
        module = self.config.module(module_name)
        if module is None:
            known = ", ".join(m.name for m in self.config.modules)
            return self._refused(
                "bad_request", 400, f"unknown module {module_name[:64]!r} (known: {known})"
            )
        return self._probe_target(params["target"][0], module, headers, params)

    def _probe_target(
        self,
        raw_target: str,
        module: ModuleConfig,
        headers: Mapping[str, str],
        params: Mapping[str, list[str]],
    ) -> Response:
        from netdx.target import parse_target

        try:
            target = parse_target(raw_target)
        except TargetError as exc:
            return self._refused("bad_request", 400, str(exc))
        if not self.config.allow.allows(target):
            self.metrics.count_probe(module.name, "denied")
            return _text(403, f"target {target.host!r} is not in this exporter's allow_targets")
        try:
            budget = probe_budget(module.timeout, _header(headers, SCRAPE_TIMEOUT_HEADER))
        except ValueError as exc:
            return self._refused("bad_request", 400, str(exc))
        outcome = self._run(target, module, budget)
        if isinstance(outcome, Response):
            return outcome
        self._count(outcome)
        if params.get("debug", ["false"])[0].lower() in ("true", "1", "yes"):
            return _text(200, debug_text(outcome).rstrip("\n"))
        from netdx.serve.metrics import probe_registry

        body = exposition(probe_registry(outcome))
        return Response(status=200, body=body, content_type=CONTENT_TYPE)

    def _run(
        self, target: Target, module: ModuleConfig, budget: ProbeBudget
    ) -> ProbeOutcome | Response:
        """Run the check in a free slot; the wait for one comes out of the budget."""
        import time

        start = time.monotonic()
        if not self._slots.acquire(timeout=budget.seconds):
            return self._refused("busy", 503, f"{MAX_PROBES_IN_FLIGHT} probes already running")
        try:
            waited = time.monotonic() - start
            if waited > 0.001:
                budget = ProbeBudget(
                    seconds=round(max(budget.seconds - waited, 0.01), 3),
                    module_timeout=budget.module_timeout,
                    scrape_timeout=budget.scrape_timeout,
                )
            self.metrics.in_flight.inc()
            try:
                return self._runner(target, module, budget)
            except UsageError as exc:  # this module cannot check this target (-6 on IPv4)
                return self._refused("bad_request", 400, str(exc))
            except Exception as exc:  # a bug: the scrape fails loudly, the server lives on
                print(f"netdx serve: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
                return self._refused("internal", 500, "internal error (see the server's log)")
            finally:
                self.metrics.in_flight.dec()
        finally:
            self._slots.release()

    def _count(self, outcome: ProbeOutcome) -> None:
        if outcome.error is not None:
            self.metrics.count_error("overran" if outcome.overran else "could_not_run")
            print(f"netdx serve: {outcome.target.raw}: {outcome.error}", file=sys.stderr)
        if outcome.budget.cut_short:
            self.metrics.cut_short.inc()
        result = "error" if outcome.error else "success" if outcome.success else "failure"
        self.metrics.count_probe(outcome.module, result)

    def _refused(self, reason: str, status: int, message: str) -> Response:
        self.metrics.count_error(reason)
        return _text(status, message)


def _single(params: Mapping[str, list[str]], name: str, *, required: bool = False) -> str:
    """A problem with the query parameter `name` (missing, repeated), or ''."""
    values = params.get(name)
    if values is None:
        return f"the {name} parameter is missing" if required else ""
    if len(values) > 1:
        return f"the {name} parameter is given {len(values)} times"
    return ""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


class _Handler(BaseHTTPRequestHandler):
    server_version = "netdx-serve"
    # A client that connects and sends nothing (or trickles) holds a thread: not for long.
    timeout = 10
    exporter: Exporter  # set on the subclass make_server builds

    def do_GET(self) -> None:
        response = self.exporter.handle(self.path, dict(self.headers.items()))
        self._send(response)

    def do_HEAD(self) -> None:
        self._send(_text(405, "use GET"), body=False)

    def do_POST(self) -> None:
        self._send(_text(405, "use GET"))

    def _send(self, response: Response, *, body: bool = True) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a scrape every few seconds would flood the log. Errors go to stderr."""


class ExporterServer(ThreadingHTTPServer):
    """The stdlib threading server; request threads are daemons so that stopping never
    waits for a check."""

    daemon_threads = True
    block_on_close = False

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks socket.getfqdn(host): a reverse DNS query to the
        # machine's resolver at start, for a name only its log would use.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _ExporterServer6(ExporterServer):
    address_family = socket.AF_INET6


def make_server(exporter: Exporter, host: str, port: int) -> ExporterServer:
    """Bind `host`:`port` (IPv4 or IPv6 literal) for `exporter`; OSError if it cannot."""
    handler = type("Handler", (_Handler,), {"exporter": exporter})
    server_class = _ExporterServer6 if ":" in host else ExporterServer
    return server_class((host, port), handler)
