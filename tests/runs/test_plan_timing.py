"""``[[step.timing]]`` in plans: rise, delay and order items parse with their defaults, and
every mistake is one sentence naming the file, line, step and key (``labbench plan check``)."""

from __future__ import annotations

import pytest

from labbench.cli import main
from labbench.runs.plan import PlanError, parse_plan

SEQ = """\
[plan]
name = "seq"
version = "1"
dut_kind = "chip"

[[channel]]
name = "vdd_io"
unit = "V"

[[channel]]
name = "vdd_aux"
unit = "V"

[[channel]]
name = "vdd_core"
unit = "V"

[[step]]
name = "power-on"
duration_s = 0.5
send = ["PWR ON"]

  [[step.timing]]
  kind = "rise"
  channel = "vdd_core"
  nominal = 0.75
  low_ms = 1
  high_ms = 5

  [[step.timing]]
  kind = "delay"
  from = "vdd_io"
  to = "vdd_core"
  to_fraction = 0.1
  nominal = { vdd_io = 1.8, vdd_core = 0.75 }
  low_ms = 2

  [[step.timing]]
  kind = "order"
  channels = ["vdd_io", "vdd_aux", "vdd_core"]
  nominal = { vdd_io = 1.8, vdd_aux = 1.2, vdd_core = 0.75 }
"""


def test_timing_items_parse_with_their_defaults():
    plan = parse_plan(SEQ, "seq.toml")
    rise, delay, order = plan.steps[0].timings
    assert (rise.name, rise.kind, rise.rails, rise.nominals) == (
        "vdd_core_rise",
        "rise",
        ("vdd_core",),
        (0.75,),
    )
    assert (rise.low_ms, rise.high_ms) == (1.0, 5.0)
    assert rise.thresholds() == [("vdd_core", 0.1, 0.75), ("vdd_core", 0.9, 0.75)]
    assert rise.describe() == "1 … 5 ms"
    assert delay.name == "vdd_io_to_vdd_core_delay"
    assert delay.fractions == (0.9, 0.1)  # from_fraction defaults to 0.9
    assert delay.thresholds() == [("vdd_io", 0.9, 1.8), ("vdd_core", 0.1, 0.75)]
    assert (delay.low_ms, delay.high_ms) == (2.0, None)
    assert delay.describe() == "≥ 2 ms"
    assert order.name == "order_vdd_io_vdd_aux_vdd_core"
    assert order.channel == "vdd_io,vdd_aux,vdd_core"
    assert order.nominals == (1.8, 1.2, 0.75)
    assert order.describe() == "any ms"


def test_a_named_item_and_a_rise_nominal_as_a_table():
    text = SEQ.replace(
        'kind = "rise"\n  channel = "vdd_core"\n  nominal = 0.75',
        'kind = "rise"\n  name = "core_up"\n  channel = "vdd_core"\n'
        "  nominal = { vdd_core = 0.75 }",
    )
    rise = parse_plan(text, "seq.toml").steps[0].timings[0]
    assert rise.name == "core_up" and rise.nominals == (0.75,)


def test_plan_check_counts_timing_items(tmp_path, capsys):
    path = tmp_path / "seq.toml"
    path.write_text(SEQ)
    assert main(["plan", "check", str(path)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("1 steps, 3 judged items, 0.5 s")


STEP = "seq.toml, line {line}: step 1 'power-on', timing {n}"


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            'kind = "rise"',
            'kind = "fall"',
            STEP.format(line=24, n=1) + ": unknown timing kind 'fall' (known: rise delay order)",
        ),
        (
            'kind = "rise"\n',
            "",
            "seq.toml, line 23: step 1 'power-on', timing 1: kind is required",
        ),
        (
            'channel = "vdd_core"\n  nominal = 0.75\n',
            'channel = "vdd_core"\n',
            STEP.format(line=23, n=1) + " (vdd_core_rise): nominal is required (nominal = 0.75)",
        ),
        (
            "nominal = 0.75",
            "nominal = -0.75",
            STEP.format(line=26, n=1) + " (vdd_core_rise): the nominal of 'vdd_core' must be "
            "positive, not -0.75",
        ),
        (
            "low_ms = 1\n",
            "low_ms = 6\n",
            STEP.format(line=27, n=1) + " (vdd_core_rise): low_ms 6 is above high_ms 5",
        ),
        (
            "high_ms = 5\n",
            "high_ms = 0\n",
            STEP.format(line=27, n=1) + " (vdd_core_rise): low_ms 1 is above high_ms 0",
        ),
        (
            "low_ms = 1\n  high_ms = 5\n",
            "high_ms = -1\n",
            STEP.format(line=27, n=1) + " (vdd_core_rise): high_ms -1 could never pass: "
            "a rise time is longer than 0 ms",
        ),
        (
            "low_ms = 1\n  high_ms = 5\n",
            "low_ms = 900\n",
            STEP.format(line=27, n=1) + " (vdd_core_rise): low_ms 900 is longer than the "
            "0.5 s step, so it could never pass",
        ),
        (
            'channel = "vdd_core"',
            'channel = "vdd_mem"',
            STEP.format(line=25, n=1) + ": channel 'vdd_mem' is not declared in a [[channel]] "
            "table (declared: vdd_aux, vdd_core, vdd_io)",
        ),
        (
            'channel = "vdd_core"',
            'channels = ["vdd_core"]',
            STEP.format(line=25, n=1) + ": unknown key 'channels' (known: channel, high_ms, "
            "kind, low_ms, name, nominal)",
        ),
        (
            "to_fraction = 0.1",
            "to_fraction = 1.5",
            STEP.format(line=34, n=2) + " (vdd_io_to_vdd_core_delay): to_fraction must lie in "
            "(0, 1] (a fraction), not 1.5",
        ),
        (
            "to_fraction = 0.1",
            "to_fraction = 0",
            STEP.format(line=34, n=2) + " (vdd_io_to_vdd_core_delay): to_fraction must lie in "
            "(0, 1] (a fraction), not 0",
        ),
        (
            'to = "vdd_core"',
            'to = "vdd_io"',
            STEP.format(line=33, n=2) + ": from and to name the same rail 'vdd_io'",
        ),
        (
            "nominal = { vdd_io = 1.8, vdd_core = 0.75 }",
            "nominal = 1.8",
            STEP.format(line=35, n=2) + " (vdd_io_to_vdd_core_delay): a delay item needs each "
            "rail's nominal as a table (nominal = { vdd_io = …, vdd_core = … }), not 1.8",
        ),
        (
            "nominal = { vdd_io = 1.8, vdd_core = 0.75 }",
            "nominal = { vdd_io = 1.8 }",
            STEP.format(line=35, n=2) + " (vdd_io_to_vdd_core_delay): nominal gives no value "
            "for rail 'vdd_core'",
        ),
        (
            "nominal = { vdd_io = 1.8, vdd_core = 0.75 }",
            "nominal = { vdd_io = 1.8, vdd_core = 0.75, vdd_aux = 1.2 }",
            STEP.format(line=35, n=2) + " (vdd_io_to_vdd_core_delay): nominal names 'vdd_aux', "
            "which this item does not judge",
        ),
        (
            'channels = ["vdd_io", "vdd_aux", "vdd_core"]',
            'channels = ["vdd_io"]',
            STEP.format(line=40, n=3) + ": an order item needs at least two rails, not 1",
        ),
        (
            'channels = ["vdd_io", "vdd_aux", "vdd_core"]',
            'channels = ["vdd_io", "vdd_io", "vdd_core"]',
            STEP.format(line=40, n=3) + ": 'vdd_io' is listed twice",
        ),
        (
            'kind = "rise"\n  channel = "vdd_core"',
            'kind = "rise"\n  name = "order_vdd_io_vdd_aux_vdd_core"\n  channel = "vdd_core"',
            "seq.toml, line 18: step 1 'power-on': two items are named "
            "'order_vdd_io_vdd_aux_vdd_core'",
        ),
    ],
)
def test_timing_mistakes_name_file_line_step_and_key(old, new, message):
    assert SEQ.count(old) >= 1, old
    with pytest.raises(PlanError) as info:
        parse_plan(SEQ.replace(old, new, 1), "seq.toml")
    text = str(info.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_timing_on_a_per_slot_channel_names_one_slot():
    only_rise = SEQ.split('  [[step.timing]]\n  kind = "delay"')[0]
    text = only_rise.replace('dut_kind = "chip"', 'dut_kind = "sled"').replace(
        'name = "vdd_core"\nunit = "V"', 'name = "vdd_core"\nunit = "V"\nper_slot = true'
    )
    with pytest.raises(PlanError) as info:
        parse_plan(text, "seq.toml")
    assert str(info.value).endswith(
        "'vdd_core' is judged per slot; a timing item judges one rail: name one slot (vdd_core[0])"
    )
    rise = parse_plan(text.replace('channel = "vdd_core"', 'channel = "vdd_core[2]"'), "seq.toml")
    assert rise.steps[0].timings[0].rails == ("vdd_core[2]",)


def test_plan_check_refuses_a_bad_timing_item(tmp_path, capsys):
    path = tmp_path / "seq.toml"
    path.write_text(SEQ.replace("to_fraction = 0.1", "to_fraction = 2"))
    assert main(["plan", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert str(path) in err and "line 34" in err and "to_fraction must lie in (0, 1]" in err
    assert "Traceback" not in err and "\n" not in err
