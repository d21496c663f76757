"""The command-line skeleton: version, db maintenance, one-sentence errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from labbench import __version__
from labbench.cli import main


def _run(*args: str, env_db: str | None = None) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ)
    if env_db is not None:
        env["LABBENCH_DB"] = env_db
    return subprocess.run(
        [sys.executable, "-m", "labbench", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_version():
    result = _run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"labbench {__version__}"


def test_db_path_default_env_and_option(isolated_user_dirs, tmp_path, capsys):
    assert main(["db", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(
        isolated_user_dirs / "data" / "labbench" / "labbench.sqlite3"
    )
    result = _run("db", "path", env_db=str(tmp_path / "env.sqlite3"))
    assert result.stdout.strip() == str(tmp_path / "env.sqlite3")
    # --db wins over LABBENCH_DB, before or after the sub-command.
    for args in (
        ("--db", str(tmp_path / "opt.sqlite3"), "db", "path"),
        ("db", "path", "--db", str(tmp_path / "opt.sqlite3")),
    ):
        result = _run(*args, env_db=str(tmp_path / "env.sqlite3"))
        assert result.stdout.strip() == str(tmp_path / "opt.sqlite3")


def test_db_upgrade_and_current(tmp_path, capsys):
    target = str(tmp_path / "cli.sqlite3")
    assert main(["db", "current", "--db", target]) == 0
    assert capsys.readouterr().out.startswith("(empty)")
    assert main(["db", "upgrade", "--db", target]) == 0
    from labbench.storage.engine import head_revision

    head = head_revision()  # the newest migration shipped
    assert f"is at schema revision {head}" in capsys.readouterr().out
    assert main(["db", "current", "--db", target]) == 0
    assert capsys.readouterr().out.strip() == f"{head} (up to date)"


@pytest.mark.parametrize(
    "target, words",
    [
        ("mysql://user@host/db", "labbench supports sqlite and postgresql"),
        (
            "postgresql://nobody@127.0.0.1:1/none",
            "Could not open the database postgresql://nobody@127.0.0.1:1/none",
        ),
        (
            "/no/such/folder/x.sqlite3",
            "folder of the database path /no/such/folder/x.sqlite3 does not exist",
        ),
        ("::not a url://", "not a valid SQLAlchemy URL"),
        ("NOT_A_DB", "is not a database"),
    ],
)
def test_bad_database_is_one_sentence_exit_2(tmp_path, target, words):
    if target == "NOT_A_DB":
        target = str(tmp_path / "notes.txt")
        (tmp_path / "notes.txt").write_text("these are my notes, not a database\n" * 100)
    result = _run("db", "upgrade", "--db", target)
    assert result.returncode == 2
    assert words.replace("NOT_A_DB", target) in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    if target.endswith("notes.txt"):
        assert (tmp_path / "notes.txt").read_text().startswith("these are my notes")


def test_bad_usage_exit_2():
    result = _run("db", "frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_smoke_test_runs_a_plan_in_the_real_window(tmp_path):
    import os

    env = dict(
        os.environ, XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config")
    )
    result = subprocess.run(
        [sys.executable, "-m", "labbench", "--smoke-test"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout and "window drawn" in result.stdout
    assert not (
        tmp_path / "data" / "labbench" / "labbench.sqlite3"
    ).exists()  # nothing of the user's touched


def test_run_warns_before_starting_when_the_profile_cannot_feed_the_plan(tmp_path):
    plan = tmp_path / "rail.toml"
    plan.write_text(
        '[plan]\nname = "rail"\nversion = "1"\ndut_kind = "chip"\n'
        '[[step]]\nname = "hold"\nduration_s = 0.5\n'
        '[[step.limit]]\nchannel = "vdd_core"\nlow = 0.72\nhigh = 0.78\n'
    )
    profile = tmp_path / "renaming.toml"
    profile.write_text(
        '[profile]\nname = "renaming"\n[[channel]]\n'
        'match = "vdd_core"\nname = "vcore"\nunit = "V"\n'
    )
    result = _run(
        "run",
        "--plan",
        str(plan),
        "--dut",
        "CHP-UNFED",
        "--new-dut",
        "chip",
        "--device",
        "mock://nominal",
        "--profile",
        str(profile),
        "--db",
        str(tmp_path / "unfed.sqlite3"),
    )
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "warning: vdd_core (hold: limit): profile renaming renames vdd_core to vcore, "
        "so the plan gets no vdd_core samples"
    ), result.stderr
    # The warning came true: silence is never a pass.
    assert result.returncode == 3, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("new_kind", "words"),
    [
        ("chip", "is for a sled, but --new-dut chip would register NEW-1 as a chip"),
        ("sled", "judges per chip, and a new sled NEW-1 has no chips placed"),
    ],
)
def test_a_run_the_plan_refuses_registers_no_new_dut(tmp_path, new_kind, words):
    """--new-dut with a plan for the other kind (or a per-chip plan on a sled with no chips
    yet): one sentence, exit 2, and the serial is still free, not left registered."""
    db = str(tmp_path / "kind.sqlite3")
    plan = "resources/plans/sled-chips.toml"
    result = _run(
        "run", "--plan", plan, "--dut", "NEW-1", "--new-dut", new_kind,
        "--device", "mock://nominal?slots=4", "--db", db,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    message = [line for line in result.stderr.splitlines() if not line.startswith("warning")]
    assert len(message) == 1 and words in message[0], result.stderr
    shown = _run("dut", "show", "NEW-1", "--db", db)
    assert shown.returncode == 2 and "There is no DUT with serial 'NEW-1'" in shown.stderr


def test_a_ctrl_c_logged_by_the_pool_prints_no_traceback(tmp_path):
    """A Ctrl-C landing while SQLAlchemy closes a connection is logged by its pool with a
    traceback before it goes on: the user is told "interrupted", not shown the traceback."""
    script = (
        "import logging\n"
        "from labbench.cli import main\n"
        f"main(['db', 'path', '--db', {str(tmp_path / 'x.sqlite3')!r}])\n"
        "pool = logging.getLogger('sqlalchemy.pool.impl.QueuePool')\n"
        "for exc in (KeyboardInterrupt(), ValueError('a real failure')):\n"
        "    try:\n"
        "        raise exc\n"
        "    except BaseException:\n"
        "        pool.error('Exception closing connection', exc_info=True)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert "KeyboardInterrupt" not in result.stderr, result.stderr
    assert "ValueError: a real failure" in result.stderr, result.stderr
