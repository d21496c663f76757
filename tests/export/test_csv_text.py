"""Any name, unit or text survives the CSV files, read back with pandas' comment parsing.

Names, units and texts are arbitrary unicode: ``#`` anywhere, quotes, commas, CR/LF, formula
prefixes, ``%`` escapes, leading quotes.  The files are read with the documented call,
``pandas.read_csv(path, comment="#")`` (plus ``dtype=str, keep_default_na=False`` so that a
text such as ``NA`` stays text), column for column, and every text cell decoded with
``cell_text`` is the original, value for value.  The python engine, which cuts a line at a
``#`` even inside quotes, reads the same.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from labbench.criteria.band import describe_limits
from labbench.export.cells import cell_text, preamble_text, safe_text
from labbench.export.csv_report import REPORT_COLUMNS, write_report, write_telemetry
from labbench.records import CriterionRecord, StepRecord
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import results as result_store
from labbench.storage import runs as run_store
from labbench.storage.telemetry import TelemetryWriter

# Text as a rig or an operator could produce it, weighted towards the characters that break CSV.
TRICKY = st.sampled_from(
    [
        "#",
        "# ",
        "%",
        "%23",
        "%25",
        "'",
        '"',
        ",",
        "\n",
        "\r",
        "\r\n",
        "=",
        "+",
        "-",
        "@",
        "\t",
        " ",
        "µ",
        "°C",
        ";",
        "\\",
    ]
)
TEXT = st.lists(
    st.one_of(
        TRICKY,
        st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=6),
    ),
    max_size=6,
).map("".join)
NAME = TEXT.filter(lambda s: 0 < len(s) <= 40)
UNIT = TEXT.filter(lambda s: len(s) <= 12)
_serials = itertools.count()


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    database = open_database(str(tmp_path_factory.mktemp("csvtext") / "text.sqlite3"))
    yield database
    database.dispose()


def _read(path: Path, engine: str = "c") -> pd.DataFrame:
    return pd.read_csv(path, comment="#", dtype=str, keep_default_na=False, engine=engine)


@pytest.mark.parametrize(
    "text",
    ["rails #1", "#comment", "#", "a%23b", "100 %", "'=1", "=1", "line\n#two", "\r#", 'x",#"y'],
)
def test_cell_text_reverses_safe_text(text):
    cell = safe_text(text)
    assert "#" not in cell and "\n" not in cell and "\r" not in cell
    assert not cell.startswith(("=", "+", "-", "@", "\t"))
    assert cell_text(cell) == text
    line = preamble_text(text)
    assert '"' not in line and cell_text(line) == text


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(channels=st.lists(st.tuples(NAME, UNIT), min_size=1, max_size=4, unique_by=lambda c: c[0]))
def test_telemetry_round_trips_any_name_and_unit(db, channels):
    wide_headers = [f"{name} ({unit})" if unit else name for name, unit in channels]
    assume(len(set(wide_headers + ["t_s"])) == len(wide_headers) + 1)  # wide needs distinct headers
    run = run_store.start_run(db, inventory_store.add_dut(db, "chip", f"T{next(_serials)}").id)
    writer = TelemetryWriter(db, run.id)
    expected = {}
    for i, (name, unit) in enumerate(channels):
        t = np.arange(3, dtype=np.float64) * 0.5 + i * 0.25
        v = np.array([1.5, -2.0, np.nan]) * (i + 1)
        writer.append(name, t, v, unit=unit)
        expected[name] = (unit, t, v)
    writer.close()
    with tempfile.TemporaryDirectory() as folder:
        long_path, wide_path = Path(folder) / "long.csv", Path(folder) / "wide.csv"
        write_telemetry(db, run.id, long_path, "long")
        write_telemetry(db, run.id, wide_path, "wide")
        assert "\n#" not in "\n" + long_path.read_text(
            encoding="utf-8"
        )  # no comment lines in telemetry
        for engine in ("c", "python"):
            long = _read(long_path, engine)
            assert list(long.columns) == ["t_s", "channel", "value", "unit"]
            assert len(long) == 3 * len(channels)
            for name, (unit, t, v) in expected.items():
                rows = long[long["channel"].map(cell_text) == name]
                assert rows["unit"].map(cell_text).tolist() == [unit] * 3
                np.testing.assert_array_equal(rows["t_s"].astype(float).to_numpy(), t)
                np.testing.assert_array_equal(rows["value"].astype(float).to_numpy(), v)
            wide = _read(wide_path, engine)
            assert [cell_text(c) for c in wide.columns] == ["t_s"] + wide_headers
            times = wide["t_s"].astype(float).to_numpy()
            for column, (_, t, v) in zip(wide.columns[1:], expected.values(), strict=True):
                present = wide[column] != ""
                np.testing.assert_array_equal(times[present.to_numpy()], t)
                np.testing.assert_array_equal(wide[column][present].astype(float).to_numpy(), v)
        # The documented call, with pandas' own NA handling: same columns, same rows.
        plain = pd.read_csv(wide_path, comment="#")
        assert plain.shape == (len(wide), len(channels) + 1)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    step=NAME,
    items=st.lists(
        st.tuples(NAME, NAME, UNIT, TEXT), min_size=1, max_size=4, unique_by=lambda i: i[0]
    ),
    operator=TEXT,
    serial=NAME,
)
def test_report_round_trips_any_step_item_unit_and_text(db, step, items, operator, serial):
    dut = inventory_store.add_dut(db, "chip", f"{serial}{next(_serials)}")
    run = run_store.start_run(db, dut.id, operator=operator)
    criteria = tuple(
        CriterionRecord(
            kind="result",
            name=name,
            channel=channel,
            unit=unit,
            stat="",
            value=None,
            text_value=text,
            low=None,
            high=None,
            marginal_low=None,
            marginal_high=None,
            equals=text,
            settle_s=0.0,
            hold_s=0.0,
            sample_count=1,
            verdict="passed",
        )
        for name, channel, unit, text in items
    ) + (
        CriterionRecord(
            kind="limit",
            name="vdd_core",
            channel="vdd_core",
            unit=items[0][2],
            stat="",
            value=0.75,
            text_value="",
            low=0.72,
            high=0.78,
            marginal_low=0.73,
            marginal_high=0.77,
            equals=None,
            settle_s=0.0,
            hold_s=0.0,
            sample_count=10,
            verdict="passed",
        ),
    )
    result_store.store_results(db, run.id, [StepRecord(0, step, 0, 1, "passed", criteria)])
    run_store.finish_run(db, run.id, "passed")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.csv"
        write_report(db, run.id, path)
        lines = path.read_text(encoding="utf-8").split(
            "\n"
        )  # CSV rows end at LF only, not at U+2028 etc.
        preamble = dict(line[2:].split(": ", 1) for line in lines if line.startswith("# "))
        assert (
            cell_text(preamble["dut_serial"]) == dut.serial
            and cell_text(preamble["operator"]) == operator
        )
        for engine in ("c", "python"):
            frame = _read(path, engine)
            assert tuple(frame.columns) == REPORT_COLUMNS
            assert len(frame) == len(items) + 1
            assert set(frame["step"].map(cell_text)) == {step}
            columns = ("name", "channel", "unit", "value", "limits")
            got = list(zip(*(frame[c].map(cell_text) for c in columns), strict=True))
            want = [(n, c, u, t, describe_limits(equals=t)) for n, c, u, t in items]
            want.append(
                (
                    "vdd_core",
                    "vdd_core",
                    items[0][2],
                    "0.75",
                    describe_limits(0.72, 0.78, 0.73, 0.77, unit=items[0][2]),
                )
            )
            assert got == want


def test_the_issue_s_hashes_keep_every_column_with_the_plain_documented_call(db):
    """A unit '#', a step 'rails #1' and a channel '#comment' (issue 9, finding 5)."""
    run = run_store.start_run(db, inventory_store.add_dut(db, "chip", f"H{next(_serials)}").id)
    writer = TelemetryWriter(db, run.id)
    writer.append("#comment", np.array([0.0, 1.0]), np.array([1.0, 2.0]), unit="V")
    writer.append("count", np.array([0.0, 1.0]), np.array([3.0, 4.0]), unit="#")
    writer.close()
    limit = CriterionRecord(
        kind="limit",
        name="#comment",
        channel="#comment",
        unit="#",
        stat="",
        value=1.0,
        text_value="",
        low=0.0,
        high=5.0,
        marginal_low=None,
        marginal_high=None,
        equals=None,
        settle_s=0.0,
        hold_s=0.0,
        sample_count=2,
        verdict="passed",
    )
    result_store.store_results(db, run.id, [StepRecord(0, "rails #1", 0, 1, "passed", (limit,))])
    with tempfile.TemporaryDirectory() as folder:
        wide, long, report = (Path(folder) / n for n in ("wide.csv", "long.csv", "report.csv"))
        write_telemetry(db, run.id, wide, "wide")
        write_telemetry(db, run.id, long, "long")
        write_report(db, run.id, report)
        frame = pd.read_csv(wide, comment="#")
        assert list(frame.columns) == ["t_s", "%23comment (V)", "count (%23)"]
        assert frame.to_numpy().tolist() == [[0.0, 1.0, 3.0], [1.0, 2.0, 4.0]]
        frame = pd.read_csv(long, comment="#")
        assert frame.to_numpy().tolist() == [
            [0.0, "%23comment", 1.0, "V"],
            [0.0, "count", 3.0, "%23"],
            [1.0, "%23comment", 2.0, "V"],
            [1.0, "count", 4.0, "%23"],
        ]
        frame = pd.read_csv(report, comment="#")
        row = frame.iloc[0]
        assert (row["step"], row["name"], row["unit"], row["value"], row["low"], row["limits"]) == (
            "rails %231",
            "%23comment",
            "%23",
            1.0,
            0.0,
            "0 … 5 %23",
        )
        assert [cell_text(c) for c in (row["step"], row["name"], row["unit"], row["limits"])] == [
            "rails #1",
            "#comment",
            "#",
            "0 … 5 #",
        ]
