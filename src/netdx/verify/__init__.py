"""`netdx verify`: declared flows checked across hosts, each judged against what it should
be (allow, or deny by one of the named causes).

flows file + inventory → matrix of cases (`matrix.expand`, pure) → checks (`run`) →
judgements (`matrix.judge`, pure) → outputs (`render`, `junit`, `textfile`).
"""

from __future__ import annotations

from netdx.verify.flows import Flow, FlowsFile, load_flows, parse_flows
from netdx.verify.inventory import Inventory, InventoryHost, load_inventory, parse_inventory
from netdx.verify.matrix import Case, Judgement, expand, judge

__all__ = [
    "Case",
    "Flow",
    "FlowsFile",
    "Inventory",
    "InventoryHost",
    "Judgement",
    "expand",
    "judge",
    "load_flows",
    "load_inventory",
    "parse_flows",
    "parse_inventory",
]
