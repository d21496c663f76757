"""A short plan and the run request GUI tests start from the window."""

from __future__ import annotations

from labbench.protocols.profile import load_profile
from labbench.runs.plan import parse_plan
from labbench.runs.sequencer import RunRequest
from labbench.storage import inventory as inventory_store

SHORT_PLAN = """\
[plan]
name = "gui-short"
version = "1"
dut_kind = "chip"

[[channel]]
name = "vdd_core"
unit = "V"

[[step]]
name = "power-on"
duration_s = 1.2
send = ["PWR ON"]
  [[step.limit]]
  channel = "vdd_core"
  low = 0.72
  high = 0.78
  marginal_low = 0.73
  marginal_high = 0.77
  settle_s = 0.5
  hold_s = 0.05

[[step]]
name = "hold"
duration_s = 1.5
  [[step.limit]]
  channel = "vdd_core"
  low = 0.72
  high = 0.78
  hold_s = 0.05
"""


def short_run_request(db, device: str, serial: str = "CHP-GUI") -> RunRequest:
    plan = parse_plan(SHORT_PLAN, "gui-short.toml")
    dut = inventory_store.find_dut(db, serial) or inventory_store.add_dut(db, "chip", serial)
    return RunRequest(plan, dut, device, load_profile("default"), "ana", "bench-1")
