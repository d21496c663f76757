from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.fixture
def mock_rig_process(tmp_path):
    """Start ``labbench mock-rig`` on a pty; yields a function(scenario, rate, seed) -> path."""
    started: list[subprocess.Popen] = []

    def start(scenario: str = "nominal", rate: float = 100.0, seed: int = 0) -> str:
        link = tmp_path / f"rig{len(started)}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "labbench", "mock-rig", "--scenario", scenario, "--rate", str(rate),
             "--seed", str(seed), "--link", str(link)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        started.append(proc)
        first = proc.stdout.readline().strip()
        assert first == str(link), proc.stderr.read()
        return first

    yield start
    for proc in started:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
