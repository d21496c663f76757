"""A simulated sled served on a real pseudo-terminal (``labbench mock-rig --slots``), read with
pyserial as a bring-up PC reads a rig, and its mistakes refused in one sentence."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import serial

from labbench.protocols.parser import TelemetryParser

RATE = 200


def _mock_rig(*args: str, link) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "labbench", "mock-rig", *args, "--link", str(link)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_sled_on_a_pty_droops_only_the_aimed_chip(tmp_path):
    proc = _mock_rig(
        "--scenario", "rail-droop?droop_at=0.5", "--rate", str(RATE), "--slots", "4", "--slot",
        "2", "--seed", "5", link=tmp_path / "sled",
    )  # fmt: skip
    try:
        path = proc.stdout.readline().strip()
        assert path == str(tmp_path / "sled"), proc.stderr.read()
        parser = TelemetryParser()
        with serial.Serial(path, timeout=0.05, exclusive=True) as port:
            deadline = time.monotonic() + 30
            seen = 0
            while seen < int(1.2 * RATE) and time.monotonic() < deadline:
                chunk = port.read(port.in_waiting or 1)
                if chunk:
                    parser.feed(chunk, time.time_ns())
                    seen = parser.lines
        values = {name: v for name, (_, v) in parser.take().samples.items()}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert parser.malformed == 0 and seen >= int(1.2 * RATE)
    assert {f"vdd_core[{k}]" for k in range(4)} <= set(values)
    assert np.all(np.diff(values["seq"]) == 1), "every reading arrived, in order"
    # seq s is at s / RATE seconds; the droop lasts from 0.5 s to 0.8 s after power-on.
    droop = (values["seq"] >= 0.6 * RATE) & (values["seq"] < 0.78 * RATE)
    assert float(values["vdd_core[2]"][droop].max()) < 0.70
    for k in (0, 1, 3):
        assert float(values[f"vdd_core[{k}]"][droop].min()) > 0.73, k


def test_bad_sled_options_are_one_sentence_and_exit_2(tmp_path):
    for args, words in [
        (["--slots", "4", "--slot", "9"], "slot=9 in 'rail-droop?slots=4&slot=9' is not a slot"),
        (["--slots", "0"], "slots=0 in 'rail-droop?slots=0' must be between 1 and 64"),
        (["--slot", "1"], "give the sled's size with slots=N too"),
    ]:
        proc = _mock_rig("--scenario", "rail-droop", *args, link=tmp_path / "bad")
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2, (args, err)
        assert out == "" and words in err and "Traceback" not in err, err
        assert err.count("\n") == 1, err
    proc = _mock_rig("--scenario", "nominal?slots=abc", link=tmp_path / "bad")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "slots='abc' in 'nominal?slots=abc' is not a whole number" in err
