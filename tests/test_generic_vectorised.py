"""Generic CSV and DataFrame evidence read as columns give exactly the audit input of the row-by-row
reading of the same content, and every refusal still names the file, the line and the field."""

from __future__ import annotations

import csv
import io
import random

import pandas as pd
import pytest

from test_conformance import make_plan
from worldflux_nb.core.importers.generic import (
    audit_input_from_frame, csv_columns, frame_columns, parse_csv,
)
from worldflux_nb.errors import InputError


def rows(rng: random.Random, count: int) -> list[dict]:
    """Generic rows with what spreadsheets and notebooks hold: blanks, spaces, mixed levels, statuses."""
    out = []
    for i in range(count):
        status = rng.choice(["completed"] * 5 + ["timeout", "infra_failure", "pending", None])
        success = (rng.random() < 0.6 if status in ("completed", None)
                   else False if status == "timeout" else None)
        axis, level = rng.choice([("light", "dim"), ("nominal", 0), ("camera", 2), ("camera", "2"), (None, None)])
        out.append({"probe_id": rng.choice(["beta", None]), "task_id": rng.choice(["suite/0", " suite/0 ", "suite/9"]),
                    "axis": axis, "level": level, "episode_index": i % 7, "seed": rng.choice([None, 7, 1000 + i]),
                    "success": success, "status": status,
                    "metadata": rng.choice([None, {}, {"camera_config_id": "static-front-v1"}, {"n": 1, "z": "é"}]),
                    "metadata.station": rng.choice([None, "s1", "20", "true"])})
    return out


def as_csv(records: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    header = list(records[0])
    writer.writerow(header)
    for r in records:
        cells = []
        for key in header:
            value = r[key]
            if key == "metadata":
                value = "" if value is None else __import__("json").dumps(value)
            elif isinstance(value, bool):
                value = random.Random(len(cells)).choice(["true", "True", "1", "yes"]) if value else "false"
            cells.append("" if value is None else f" {value}" if key == "axis" else value)
        writer.writerow(cells)
    return out.getvalue()


def test_csv_columns_give_the_row_by_row_audit_input():
    plan = make_plan(9)
    text = as_csv(rows(random.Random(5), 400))
    assert csv_columns(text, "e.csv") is not None
    fast = parse_csv(text, source_name="e.csv", plan=plan, probe_id="beta")
    slow = parse_csv(text, source_name="e.csv", plan=plan, probe_id="beta", by_rows=True)
    assert fast.episodes == slow.episodes and fast.source == slow.source
    assert fast.redactions == slow.redactions and fast.audit_digest == slow.audit_digest
    assert {"station": "s1"}.items() <= next(r["metadata"] for r in fast.episodes
                                             if (r.get("metadata") or {}).get("station") == "s1").items()


def frame(records: list[dict]) -> pd.DataFrame:
    data = pd.DataFrame(records)
    data["seed"] = data["seed"].astype("float64")  # NaN for missing seeds, as pandas stores them
    return data


@pytest.mark.parametrize("change", [{}, {"seed": "float"}, {"level": "ints"}, {"metadata.station": None}])
def test_dataframe_columns_give_the_row_by_row_audit_input(change):
    plan = make_plan(9)
    data = frame(rows(random.Random(6), 300))
    if change.get("level") == "ints":
        data["level"], data["axis"] = 2, "camera"
    if "metadata.station" in change:
        data = data.drop(columns=["metadata.station"])
    if "seed" not in change:
        data["seed"] = data["seed"].astype("Int64")
    clean = data.astype(object).where(data.notna(), None)
    vouched = frame_columns(clean) is not None
    assert vouched == ("seed" not in change)  # float seeds (NaN for missing) are read row by row
    fast = audit_input_from_frame(data, plan, "beta")
    slow = audit_input_from_frame(data, plan, "beta", by_rows=True)
    assert fast.episodes == slow.episodes and fast.source == slow.source
    assert fast.audit_digest == slow.audit_digest


def test_dataframe_values_of_equal_hash_stay_apart():
    """True, 1 and 1.0 hash alike, as do 0.0 and -0.0: each keeps its own reading."""
    plan = make_plan(9)
    data = pd.DataFrame({"task_id": ["suite/0"] * 4, "axis": ["light"] * 4, "level": ["dim"] * 4,
                         "episode_index": [0, 1, 2, 3], "success": [True] * 4,
                         "metadata": [{"v": True}, {"v": 1}, {"v": 1.0}, {"v": -0.0}]})
    fast = audit_input_from_frame(data, plan, "beta")
    slow = audit_input_from_frame(data, plan, "beta", by_rows=True)
    assert [r["metadata"]["v"] for r in fast.episodes] == [True, 1, 1.0, -0.0]
    assert fast.episodes == slow.episodes and fast.audit_digest == slow.audit_digest


HEADER = "task_id,axis,level,episode_index,seed,success,status\n"


@pytest.mark.parametrize("text, where, problem", [
    (HEADER + "suite/0,light,dim,1,,true,completed\nsuite/0,light,dim,abc,,true,completed\n",
     r"line 3\.episode_index", "must be an integer, not 'abc'"),
    (HEADER + "suite/0,light,dim,1,seven,true,completed\n", r"line 2\.seed", "must be an integer"),
    (HEADER + "suite/0,light,dim,0x10,,true,completed\n", r"line 2\.episode_index", "must be an integer"),
    (HEADER + "suite/0,light,dim,1,+7,true,completed\n", r"line 2\.seed", "must be an integer"),
    (HEADER + "suite/0,light,dim,1,,maybe,completed\n", r"line 2\.success", "must be true or false"),
    ("task_id,episode_index,success,success\nsuite/0,1,true,false\n", "success",
     "column appears twice in the CSV header"),
    (HEADER + "suite/0,light,dim,1,,true,completed\nsuite/0,light," + "x" * 200_000 + ",2,,true,completed\n",
     "line 3", "cannot be read as CSV"),
])
def test_csv_refusals_name_file_line_and_field(text, where, problem):
    plan = make_plan(9)
    with pytest.raises(InputError, match=rf"^bad\.csv: {where}: {problem}"):
        parse_csv(text, source_name="bad.csv", plan=plan, probe_id="beta")


def test_dataframe_refusals_name_the_row_and_field():
    plan = make_plan(9)
    data = pd.DataFrame({"task_id": ["suite/0"] * 3, "axis": ["light"] * 3, "level": ["dim"] * 3,
                         "episode_index": [0, 1, 2], "success": [True, "yes", True]})
    with pytest.raises(InputError, match=r"^DataFrame: row 1\.success: must be true, false or null, not 'yes'"):
        audit_input_from_frame(data, plan, "beta")


@pytest.mark.parametrize("formula", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"])
def test_formula_looking_text_is_kept_as_text(formula):
    """A cell a spreadsheet would evaluate is evidence text like any other: kept verbatim both ways."""
    plan = make_plan(9)
    text = HEADER + f"\"{formula.replace(chr(34), chr(34) * 2)}\",light,dim,1,,true,completed\n"
    assert csv_columns(text, "f.csv") is not None
    fast = parse_csv(text, source_name="f.csv", plan=plan, probe_id="beta")
    slow = parse_csv(text, source_name="f.csv", plan=plan, probe_id="beta", by_rows=True)
    assert fast.episodes[0]["task_id"] == formula.strip() == slow.episodes[0]["task_id"]
    assert fast.audit_digest == slow.audit_digest


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_importing_generic_columns_never_loads_pandas(tmp_path, suffix):
    """`audit import csv|parquet` reads columns with pyarrow only, `metadata.<key>` columns included
    (pyarrow loads pandas on its first conversion of a Python value, and `pq.read_table` through
    pyarrow.dataset): pandas' import would be a third of a second the command never needs."""
    import subprocess
    import sys

    from worldflux_nb.io.artifacts import artifact_json

    (tmp_path / "plan.json").write_text(artifact_json(make_plan(9)), encoding="utf-8")
    records = rows(random.Random(5), 200)
    source = tmp_path / f"e.{suffix}"
    if suffix == "csv":
        source.write_text(as_csv(records), encoding="utf-8")
    else:
        pd.DataFrame(records).astype({"level": str, "metadata": str}).drop(columns=["metadata"]).to_parquet(source)
    argv = ["audit", "import", suffix, str(source), "--plan", str(tmp_path / "plan.json"), "--probe", "beta",
            "--output", str(tmp_path / "audit.json")]
    code = f"import sys\nfrom worldflux_nb.cli import main\nprint(main({argv!r}), 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["0", "False"], out.stderr
