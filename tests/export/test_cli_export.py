"""``labbench export RUN_ID`` with any subset of --report, --telemetry, --junit and --json
(--html: tests/export/test_html_report.py):
at least one, an unknown run, an unwritable path or one file named twice is one sentence on
stderr with exit code 2, no traceback and no file written."""

from __future__ import annotations

import subprocess
import sys

import pytest
from lxml import etree

from labbench.cli import main

from .conftest import JUNIT_XSD, load_json


def _files(tmp_path) -> dict[str, str]:
    return {
        "--report": str(tmp_path / "report.csv"),
        "--telemetry": str(tmp_path / "telemetry.csv"),
        "--junit": str(tmp_path / "junit.xml"),
        "--json": str(tmp_path / "record.json"),
    }


def test_every_format_at_once(stored_runs, tmp_path, capsys):
    run_id = stored_runs.failing_sled
    files = _files(tmp_path)
    args = ["export", str(run_id), "--db", stored_runs.target, "--layout", "long"]
    for option, path in files.items():
        args += [option, path]
    assert main(args) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"run {run_id}: report {files['--report']}, telemetry ")
    assert "samples, long)" in out and ", junit " in out and " failed, " in out
    assert out.endswith(f"json {files['--json']} (8 items)")
    etree.XMLSchema(etree.parse(str(JUNIT_XSD))).assertValid(etree.parse(files["--junit"]))
    assert load_json(files["--json"])["run"]["id"] == run_id
    with open(files["--telemetry"], encoding="utf-8") as f:
        assert f.readline().strip() == "t_s,channel,value,unit"


@pytest.mark.parametrize("option", ["--report", "--telemetry", "--junit", "--json"])
def test_any_one_format_alone(stored_runs, tmp_path, capsys, option):
    files = _files(tmp_path)
    code = main(["export", str(stored_runs.passing_chip), option, files[option],
                 "--db", stored_runs.target])  # fmt: skip
    assert code == 0
    assert [p for p in files.values() if (tmp_path / p).exists()] == [files[option]]
    assert capsys.readouterr().out.count(files[option]) == 1


def _one_sentence(capsys, expected: str) -> None:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.out == ""
    assert captured.err.strip().splitlines() == [f"labbench: {expected}"]


def test_no_format_is_one_sentence(stored_runs, tmp_path, capsys):
    assert main(["export", str(stored_runs.passing_chip), "--db", stored_runs.target]) == 2
    _one_sentence(
        capsys,
        "Name at least one file to write: --report, --telemetry, --junit, --json, --html "
        "or --shmoo.",
    )


def test_unknown_run_writes_nothing(stored_runs, tmp_path, capsys):
    files = _files(tmp_path)
    code = main(["export", "424242", "--junit", files["--junit"], "--json", files["--json"],
                 "--db", stored_runs.target])  # fmt: skip
    assert code == 2
    _one_sentence(capsys, "There is no run with id 424242.")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option", ["--report", "--telemetry", "--junit", "--json"])
def test_unwritable_path_names_it(stored_runs, tmp_path, capsys, option):
    path = tmp_path / "missing-folder" / "out.file"
    code = main(["export", str(stored_runs.passing_chip), option, str(path),
                 "--db", stored_runs.target])  # fmt: skip
    assert code == 2
    _one_sentence(capsys, f"Cannot write {path}: No such file or directory.")


def test_a_file_written_before_the_failure_is_named(stored_runs, tmp_path, capsys):
    files = _files(tmp_path)
    bad = tmp_path / "missing-folder" / "j.xml"
    code = main(["export", str(stored_runs.passing_chip), "--report", files["--report"],
                 "--junit", str(bad), "--db", stored_runs.target])  # fmt: skip
    assert code == 2
    _one_sentence(
        capsys,
        f"Cannot write {bad}: No such file or directory "
        f"(already written: report {files['--report']}).",
    )


def test_one_file_named_twice_is_refused(stored_runs, tmp_path, capsys):
    path = str(tmp_path / "same.out")
    code = main(["export", str(stored_runs.passing_chip), "--junit", path, "--json", path,
                 "--db", stored_runs.target])  # fmt: skip
    assert code == 2
    _one_sentence(capsys, f"--junit and --json name the same file {path}.")
    assert list(tmp_path.iterdir()) == []


def test_from_a_shell_no_traceback_and_help_lists_the_formats(stored_runs, tmp_path):
    def shell(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "labbench", *args],
                              capture_output=True, text=True, timeout=60)  # fmt: skip

    refused = shell("export", "7", "--db", stored_runs.target)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip() == (
        "labbench: Name at least one file to write: --report, --telemetry, --junit, --json, "
        "--html or --shmoo."
    )
    helped = shell("export", "--help")
    assert helped.returncode == 0
    for option in ("--report", "--telemetry", "--layout", "--junit", "--json", "--html", "--shmoo"):
        assert option in helped.stdout
    bad_layout = shell("export", "7", "--telemetry", "t.csv", "--layout", "tall")
    assert bad_layout.returncode == 2 and "invalid choice" in bad_layout.stderr
