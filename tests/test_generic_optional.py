"""The generic importers (JSON Lines, CSV, DataFrame) keep the optional evidence columns of
docs/evidence-table.md and refuse any other key, naming it: evidence is never dropped unseen.
Column and row-by-row readings seal the same audit input and digest."""

from __future__ import annotations

import csv
import io
import json
import random

import pandas as pd
import pytest

from test_conformance import make_plan
from worldflux_nb.core.importers import FORMATS
from worldflux_nb.core.importers.generic import (
    audit_input_from_frame, audit_input_from_json_columns, csv_columns, frame_columns, parse_csv,
)
from worldflux_nb.errors import InputError
from worldflux_nb.io.artifacts import audit_input_file, load
from worldflux_nb.io import evidence_files
from worldflux_nb.io.evidence_files import import_bytes, import_file
from worldflux_nb.io.evidence_tables import read_jsonl_columns

OPTIONAL = {"failure_reason": "gripper slipped", "run_id": "r1", "recorded_at": "2026-01-01T00:00:00Z",
            "harness_task": "pick the cup"}
SECRET = "sk-" + "a" * 40


def rows(count: int = 60, seed: int = 3) -> list[dict]:
    """Generic rows, some carrying the optional columns (a few of them, or all), some none."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        row = {"task_id": "suite/0", "axis": "light", "level": "dim", "episode_index": i % 9,
               "seed": 1000 + i % 9, "success": rng.random() < 0.5, "status": "completed",
               "metadata": {"station": "s1"}}
        picked = rng.choice([{}, OPTIONAL, {"run_id": f"r{i % 3}"},
                             {"failure_reason": "", "recorded_at": "2026-01-02T03:04:05+00:00"}])
        out.append({**row, **picked})
    return out


def jsonl_both(tmp_path, records, name="e.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:  # DuckDB's columns, however small the file
        patch.setattr(evidence_files, "SMALL_JSONL_BYTES", -1)
        fast = import_file(FORMATS["jsonl"], path, plan=make_plan(9), probe_id="beta")
    slow = import_bytes(FORMATS["jsonl"], path.read_bytes(), source=str(path), plan=make_plan(9), probe_id="beta")
    return path, fast, slow


def as_csv(records: list[dict]) -> str:
    names = ["task_id", "axis", "level", "episode_index", "seed", "success", "status", "metadata.station",
             *OPTIONAL]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(names)
    for r in records:
        flat = {**r, "metadata.station": r["metadata"]["station"]}
        writer.writerow(["" if flat.get(n) is None else str(flat[n]).lower() if isinstance(flat.get(n), bool)
                         else flat[n] for n in names])
    return out.getvalue()


def csv_both(records):
    text = as_csv(records)
    fast = parse_csv(text, source_name="e.csv", plan=make_plan(9), probe_id="beta")
    slow = parse_csv(text, source_name="e.csv", plan=make_plan(9), probe_id="beta", by_rows=True)
    return text, fast, slow


def frame_both(records):
    data = pd.DataFrame(records)
    fast = audit_input_from_frame(data, make_plan(9), "beta")
    slow = audit_input_from_frame(data, make_plan(9), "beta", by_rows=True)
    return data, fast, slow


def same(fast, slow):
    assert fast.episodes == slow.episodes and fast.redactions == slow.redactions
    assert fast.audit_digest == slow.audit_digest == slow.computed_digest()


def test_each_optional_column_survives_every_generic_format_on_both_paths(tmp_path):
    records = rows()
    path, jsonl_fast, jsonl_slow = jsonl_both(tmp_path, records)
    assert audit_input_from_json_columns(read_jsonl_columns(path), source_name=str(path), plan=make_plan(9),
                                          probe_id="beta") is not None  # the column path was taken
    text, csv_fast, csv_slow = csv_both(records)
    assert csv_columns(text, "e.csv") is not None
    data, frame_fast, frame_slow = frame_both(records)
    assert frame_columns(data.astype(object).where(data.notna(), None)) is not None
    for fast, slow in ((jsonl_fast, jsonl_slow), (csv_fast, csv_slow), (frame_fast, frame_slow)):
        same(fast, slow)
        for record, row in zip(records, fast.episodes):
            for name in OPTIONAL:
                # CSV has no way to tell an empty failure_reason from none: both read as missing.
                expected = None if fast is csv_fast and record.get(name) == "" else record.get(name)
                assert row.get(name) == expected, (name, record, row)
    assert jsonl_fast.episodes == frame_fast.episodes  # one reading whatever the format


@pytest.mark.parametrize("suffix", ["json", "parquet"])
def test_the_optional_columns_reach_the_audit_input_file_and_its_digest(tmp_path, suffix):
    _, fast, slow = jsonl_both(tmp_path, rows())
    without = [{k: v for k, v in r.items() if k not in OPTIONAL} for r in rows()]
    _, bare, _ = jsonl_both(tmp_path, without, name="bare.jsonl")
    assert bare.episodes.content_digest() != fast.episodes.content_digest()  # the columns are sealed
    path = tmp_path / f"audit.{suffix}"
    data = audit_input_file(fast, path)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    loaded = load(path)
    assert loaded.episodes == slow.episodes and loaded.audit_digest == slow.audit_digest
    assert sum(r.get("run_id") == "r1" and r.get("harness_task") == "pick the cup" for r in loaded.episodes) > 0


def test_a_secret_in_failure_reason_is_redacted_and_recorded_on_every_path(tmp_path):
    records = rows(20)
    records[7] = {**records[7], "failure_reason": f"auth failed with token {SECRET}"}
    _, fast, slow = jsonl_both(tmp_path, records)
    _, csv_fast, csv_slow = csv_both(records)
    _, frame_fast, frame_slow = frame_both(records)
    for one, other in ((fast, slow), (csv_fast, csv_slow), (frame_fast, frame_slow)):
        same(one, other)
        reason = one.episodes[7]["failure_reason"]
        assert SECRET not in reason and reason.startswith("auth failed with token ")
        assert [r.location for r in one.redactions] in (
            ["line 8.failure_reason"], ["line 9.failure_reason"], ["row 7.failure_reason"])  # JSONL, CSV, frame
        assert all(SECRET not in str(value) for row in one.episodes for value in row.values())


def test_an_over_long_failure_reason_is_shortened_to_500_characters(tmp_path):
    records = rows(20)
    records[4] = {**records[4], "failure_reason": "traceback line\n" * 100}
    _, fast, slow = jsonl_both(tmp_path, records)
    same(fast, slow)
    reason = fast.episodes[4]["failure_reason"]
    assert len(reason) == 500 and reason.endswith("…") and reason[:-1] == records[4]["failure_reason"][:499]
    _, frame_fast, frame_slow = frame_both(records)
    same(frame_fast, frame_slow)
    assert frame_fast.episodes[4]["failure_reason"] == reason


def test_an_unknown_key_is_refused_naming_the_file_the_line_and_the_key(tmp_path):
    records = rows(20)
    records[5] = {**records[5], **OPTIONAL, "extra_thing": 5}
    path = tmp_path / "e.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    pattern = r"e\.jsonl: line 6: has the key 'extra_thing'.*belong in metadata"
    with pytest.raises(InputError, match=pattern):
        import_file(FORMATS["jsonl"], path, plan=make_plan(9), probe_id="beta")
    with pytest.raises(InputError, match=pattern):
        import_bytes(FORMATS["jsonl"], path.read_bytes(), source=str(path), plan=make_plan(9), probe_id="beta")


@pytest.mark.parametrize("by_rows", [False, True])
def test_an_unknown_csv_or_dataframe_column_is_refused_naming_it(by_rows):
    text = as_csv(rows(10))
    lines = text.splitlines()
    edited = "\n".join([lines[0] + ",notes", *(line + ",kept?" for line in lines[1:])]) + "\n"
    with pytest.raises(InputError, match=r"e\.csv: column 'notes'.*metadata\.<key> columns"):
        parse_csv(edited, source_name="e.csv", plan=make_plan(9), probe_id="beta", by_rows=by_rows)
    data = pd.DataFrame(rows(10)).assign(notes=None)  # even an empty column: its name says evidence was meant
    with pytest.raises(InputError, match=r"DataFrame: column 'notes'"):
        audit_input_from_frame(data, make_plan(9), "beta", by_rows=by_rows)


@pytest.mark.parametrize("change, field", [
    ({"run_id": 7}, "run_id"), ({"recorded_at": ""}, "recorded_at"), ({"harness_task": ["a"]}, "harness_task"),
    ({"failure_reason": {"why": "x"}}, "failure_reason"),
])
def test_an_optional_value_that_is_not_text_is_refused_naming_the_line(tmp_path, change, field):
    records = rows(12)
    records[2] = {**records[2], **change}
    for read in (lambda: jsonl_both(tmp_path, records), lambda: frame_both(records)):
        with pytest.raises(InputError, match=rf"(line 3|row 2)\.{field}: must be a non-empty string"):
            read()


@pytest.mark.parametrize("by_rows", [False, True])
def test_dataframe_times_with_a_timezone_are_recorded_at_as_utc_iso_text_with_the_same_digest(tmp_path, by_rows):
    """A DataFrame's recorded_at may hold pandas, numpy-backed or datetime times with a timezone: each becomes
    its UTC ISO 8601 text, so the audit input is the one its equivalent text gives, digest and all."""
    import datetime as dt

    stamps = ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.250000Z", None, "2026-01-02T03:04:05.123456789Z"]
    records = [{**row, "recorded_at": stamps[i % 4]} for i, row in enumerate(rows(12))]
    records = [{k: v for k, v in r.items() if v is not None} for r in records]
    _, as_jsonl, _ = jsonl_both(tmp_path, records)
    expected = audit_input_from_frame(pd.DataFrame(records), make_plan(9), "beta")
    assert expected.episodes.content_digest() == as_jsonl.episodes.content_digest()
    text = pd.DataFrame(records)["recorded_at"]
    as_times = {
        "utc": pd.to_datetime(text, utc=True, format="ISO8601"),
        "tokyo": pd.to_datetime(text, utc=True, format="ISO8601").dt.tz_convert("Asia/Tokyo"),
        # Python datetimes keep microseconds: the nanosecond stamp is left as text beside them.
        "objects": pd.Series([dt.datetime.fromisoformat(t.replace("Z", "+00:00")).astimezone(
            dt.timezone(dt.timedelta(hours=-5))) if isinstance(t, str) and len(t) < 30 else t for t in text], dtype=object),
    }
    for name, times in as_times.items():
        audit = audit_input_from_frame(pd.DataFrame(records).assign(recorded_at=times), make_plan(9), "beta",
                                       by_rows=by_rows)
        assert [r.get("recorded_at") for r in audit.episodes] == [r.get("recorded_at") for r in expected.episodes]
        assert audit.audit_digest == expected.audit_digest, name


@pytest.mark.parametrize("by_rows", [False, True])
def test_a_dataframe_time_without_a_timezone_is_refused_naming_the_row(by_rows):
    import numpy as np

    records = rows(12)
    naive = pd.Series([None, None, pd.Timestamp("2026-01-02T03:04:05")] + [None] * 9, dtype=object)
    for column in (naive, pd.to_datetime(naive), naive.map(lambda t: None if t is None else np.datetime64(t))):
        data = pd.DataFrame(records).assign(recorded_at=column)
        with pytest.raises(InputError, match=r"^DataFrame: row 2\.recorded_at: is a time without a timezone "
                                             r"\(.*2026-01-02.*\); recorded_at is a UTC time"):
            audit_input_from_frame(data, make_plan(9), "beta", by_rows=by_rows)


def run_sheet_rows(plan) -> list[dict]:
    """Rows as a harness driven by the run sheet writes them: the sheet's row, `cell_id` included, plus
    the outcome."""
    from worldflux_nb.core.run_sheet import run_sheet_for

    sheet = [e for e in run_sheet_for(plan).episodes if e["probe_id"] == "beta"]
    return [{**e, "success": e["episode_index"] % 3 == 0, "status": "completed"} for e in sheet]


def test_a_run_sheet_cell_id_copied_back_is_checked_and_left_out(tmp_path):
    plan = make_plan(9)
    echoed = run_sheet_rows(plan)
    bare = [{k: v for k, v in r.items() if k != "cell_id"} for r in echoed]
    _, fast, slow = jsonl_both(tmp_path, echoed)
    _, plain, _ = jsonl_both(tmp_path, bare, name="bare.jsonl")
    same(fast, slow)
    assert fast.episodes == plain.episodes and "cell_id" not in fast.episodes[0]
    data, frame_fast, frame_slow = frame_both(echoed)
    same(frame_fast, frame_slow)
    assert frame_fast.episodes == plain.episodes
    text = data.to_csv(index=False)
    for by_rows in (False, True):
        read = parse_csv(text, source_name="e.csv", plan=plan, probe_id="beta", by_rows=by_rows)
        assert read.episodes == plain.episodes
    wrong = [dict(r) for r in echoed]
    wrong[1]["cell_id"] = wrong[0]["cell_id"] if wrong[0]["cell_id"] != wrong[1]["cell_id"] else "beta:other:x:1"
    with pytest.raises(InputError, match=r"e\.jsonl: line 2\.cell_id: is .*but the row's probe, task"):
        jsonl_both(tmp_path, wrong)
    with pytest.raises(InputError, match=r"row 1\.cell_id"):
        frame_both(wrong)


def _cells(read):
    if read is None:
        return None
    header, cells, size = read
    return header, {name: column.to_pylist() for name, column in cells.items()}, size


@pytest.mark.parametrize("seed", range(4))
def test_pyarrow_reads_csv_cells_as_the_csv_module_does_or_leaves_them_to_it(seed):
    """Random texts of quotes, doubled quotes, quoted newlines and commas, blank lines, \\r\\n and
    ragged rows: wherever pyarrow's reading is taken, it is the csv module's, cell for cell."""
    from worldflux_nb.core.importers.generic import _csv_cells_arrow, _csv_cells_python

    rng = random.Random(seed)
    pieces = ["a", "b", '"', '""', " ", "\t", "é", "\n", "\r\n", 'x"y', '"q,w"', '"l\nm"', "\r", "1", ""]
    taken = 0
    for _ in range(3000):
        width = rng.randint(2, 4)
        lines = [",".join("".join(rng.choice(pieces) for _ in range(rng.randint(0, 3))) for _ in range(width))
                 for _ in range(rng.randint(1, 5))]
        newline = rng.choice(["\n", "\r\n"])
        text = newline.join(lines) + rng.choice(["", newline])
        arrow = _csv_cells_arrow(text)
        if arrow is not None:
            taken += 1
            assert _cells(arrow) == _cells(_csv_cells_python(text)), repr(text)
    assert taken > 150  # the texts pyarrow reads are not only the trivial ones


@pytest.mark.parametrize("text", [
    "a,b\r1,2\r",                      # the csv module refuses a lone carriage return
    "\ufeffa,b\n1,2\n",                # pyarrow would drop a second byte-order mark
    "\na,b\n1,2\n",                    # pyarrow would skip the blank header line
    "a,b\n1,\x00\n",                   # the csv module refuses a NUL
    "a,b\n1\n",                        # a short row: the csv module pads it
    "a,b\n1,%s\n" % ("x" * 131072),   # over the csv module's field size limit: it refuses the line
])
def test_what_pyarrow_may_read_differently_is_left_to_the_csv_module(text):
    from worldflux_nb.core.importers.generic import _csv_cells_arrow

    assert _csv_cells_arrow(text) is None
