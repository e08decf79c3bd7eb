"""The netdx lab: failure modes rebuilt in network namespaces, from scenario data files.

    with Lab(load_scenario("payment-db-firewall")) as lab:
        subprocess.run(lab.exec_argv("payment", ["nc", "-z", "-w1", "db-server-01", "5432"]))

`run_scenario(name)` builds a scenario, runs ``netdx check --json`` on its client (or, as the
scenario says with `command` and `run_on`, ``netdx inspect`` or a check on the server itself)
and compares the verdict with the expected cause. Importing this package is cheap: yaml and
pydantic are imported only when a scenario file is read.
"""

from netdx.lab.build import Lab, LabState
from netdx.lab.loader import list_scenarios, load_scenario, load_scenario_file, parse_scenario
from netdx.lab.model import PREFIX, Host, Interface, Link, Scenario, Service
from netdx.lab.run import RunResult, clean, down, leftovers, run_scenario, running_lab, up

__all__ = [
    "PREFIX",
    "Host",
    "Interface",
    "Lab",
    "LabState",
    "Link",
    "RunResult",
    "Scenario",
    "Service",
    "clean",
    "down",
    "leftovers",
    "list_scenarios",
    "load_scenario",
    "load_scenario_file",
    "parse_scenario",
    "run_scenario",
    "running_lab",
    "up",
]
