"""Generic Parquet evidence (`audit import parquet`) gives exactly the audit input of the same rows as
JSON Lines, and every refusal is one line naming the file, the row (1-based) and the field."""

from __future__ import annotations

import io
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from importers_support import read_json, run_cli, write_plan
from test_conformance import make_plan
from worldflux_nb.cli import main
from worldflux_nb.core.importers import FORMATS, ImportOptions
from worldflux_nb.core.importers.generic import parse_jsonl
from worldflux_nb.core.importers.generic_parquet import parse_parquet
from worldflux_nb.errors import InputError

SECRET = "sk-" + "a" * 40


def records(rng: random.Random, count: int, probe: str = "alpha") -> list[dict]:
    """Generic rows (JSONL form) of probe alpha: integer levels, statuses, seeds, metadata objects."""
    out = []
    for i in range(count):
        status = rng.choice(["completed"] * 5 + ["timeout", "infra_failure", "pending", None])
        success = (rng.random() < 0.6 if status in ("completed", None)
                   else False if status == "timeout" else None)
        axis, level = rng.choice([("nominal", 0), ("camera", 2)])
        out.append({"probe_id": rng.choice([probe, None]), "task_id": rng.choice(["suite/0", "suite/1"]),
                    "axis": axis, "level": level, "episode_index": i % 13, "seed": rng.choice([None, 7, 1000 + i]),
                    "success": success, "status": status,
                    "metadata": rng.choice([None, {"camera_config_id": "static-front-v1"}, {"n": 1, "z": "é"}]),
                    "failure_reason": rng.choice([None, "", "dropped the cube"])})
    return out


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps({k: v for k, v in r.items() if v is not None}) + "\n" for r in rows)


def parquet(table: pa.Table, **kwargs) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, **kwargs)
    return out.getvalue()


def table_of(rows: list[dict], *, spread: bool = False, struct: bool = False) -> pa.Table:
    """The rows as typed columns; metadata as JSON text, spread over `metadata.<key>` columns, or as the
    struct column pyarrow infers from the metadata dicts (a key a row lacks is null in it)."""
    columns = {k: [r[k] for r in rows] for k in rows[0] if k != "metadata"}
    if struct:
        columns["metadata"] = pa.array([r["metadata"] for r in rows])
        assert pa.types.is_struct(columns["metadata"].type)
    elif spread:
        keys = sorted({k for r in rows for k in (r["metadata"] or {})})
        columns.update({f"metadata.{k}": [(r["metadata"] or {}).get(k) for r in rows] for k in keys})
    else:
        columns["metadata"] = [None if r["metadata"] is None else json.dumps(r["metadata"]) for r in rows]
    types = {"episode_index": pa.int64(), "seed": pa.int64(), "success": pa.bool_()}
    return pa.table({k: pa.array(v, types.get(k)) for k, v in columns.items()})


def both(rows: list[dict], data: bytes, plan=None, probe: str = "alpha"):
    plan = plan or make_plan(13)
    return (parse_parquet(data, source_name="e.parquet", plan=plan, probe_id=probe),
            parse_jsonl(jsonl(rows), source_name="e.jsonl", plan=plan, probe_id=probe))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("shape", ["text", "spread", "struct"])
def test_parquet_gives_the_jsonl_audit_input(seed, shape):
    from worldflux_nb.core.importers.generic_parquet import _columns, read_table

    rows = records(random.Random(seed), 300)
    data = parquet(table_of(rows, spread=shape == "spread", struct=shape == "struct"))
    assert _columns(read_table(data, "e.parquet"), source_name="e.parquet", plan=make_plan(13), probe_id="alpha",
                    options=ImportOptions()) is not None  # read as columns, not row by row
    fast, reference = both(rows, data)
    assert fast.episodes.content_digest() == reference.episodes.content_digest()
    assert fast.episodes == reference.episodes
    assert fast.source.format_version == "generic Parquet"


@pytest.mark.parametrize("struct", [False, True])
def test_the_row_path_gives_the_same_audit_input(monkeypatch, struct):
    import worldflux_nb.core.importers.generic_parquet as module

    rows = records(random.Random(9), 200)
    data = parquet(table_of(rows, struct=struct))
    fast = parse_parquet(data, source_name="e.parquet", plan=make_plan(13), probe_id="alpha")
    monkeypatch.setattr(module, "_columns", lambda table, **kwargs: None)
    slow, reference = both(rows, data)
    assert fast.episodes.content_digest() == slow.episodes.content_digest() == reference.episodes.content_digest()


def test_struct_metadata_fields_dictionary_encoded_null_and_beside_spread_columns():
    """A struct's dictionary-encoded text field is decoded; a null struct, or a null field, is no key; a
    `metadata.<key>` column beside the struct adds its key, and one that repeats a field is refused."""
    metadata = [{"camera": "front", "n": 1}, None, {"camera": None, "n": 2}, {"camera": "wrist", "n": None}]
    rows = [{"task_id": "suite/0", "axis": "nominal", "level": 0, "episode_index": i, "success": i % 2 == 0,
             "metadata": m} for i, m in enumerate(metadata)]
    camera = pa.array([m and m["camera"] for m in metadata]).dictionary_encode()
    struct = pa.StructArray.from_arrays([camera, pa.array([m and m["n"] for m in metadata])], ["camera", "n"],
                                        mask=pa.array([m is None for m in metadata]))
    table = table_of(rows).set_column(5, "metadata", struct)
    fast, reference = both([{**r, "metadata": r["metadata"] and {k: v for k, v in r["metadata"].items()
                                                                 if v is not None}} for r in rows],
                           parquet(table), probe="alpha")
    assert fast.episodes.content_digest() == reference.episodes.content_digest()
    assert [row.get("metadata") for row in fast.episodes.to_pylist()] == [
        {"camera": "front", "n": 1}, None, {"n": 2}, {"camera": "wrist"}]
    with_room = table.append_column("metadata.room", pa.array(["lab", None, None, "lab"]))
    spread = parse_parquet(parquet(with_room), source_name="e.parquet", plan=make_plan(13), probe_id="alpha")
    assert [row.get("metadata") for row in spread.episodes.to_pylist()] == [
        {"camera": "front", "n": 1, "room": "lab"}, None, {"n": 2}, {"camera": "wrist", "room": "lab"}]
    twice = table.append_column("metadata.n", pa.array([1, 2, 3, 4]))
    assert "column 'metadata.n': appears twice" in refusal(twice)
    # Two metadata columns, the struct first or second: refused on one line (by pyarrow's reader or ours).
    two_metadata = table.append_column("metadata", pa.array(['{"a": 1}'] * 4))
    for order in ([0, 1, 2, 3, 4, 5, 6], [0, 1, 2, 3, 4, 6, 5]):
        assert "metadata" in refusal(two_metadata.select(order))


def test_string_levels_dictionary_columns_and_several_row_groups():
    rows = [{"task_id": "suite/0", "axis": "light", "level": "dim", "episode_index": i, "success": i % 2 == 0,
             "metadata": None} for i in range(13)]
    table = table_of(rows)
    table = table.set_column(0, "task_id", table.column("task_id").dictionary_encode())
    data = parquet(table, row_group_size=4)
    assert pq.ParquetFile(io.BytesIO(data)).num_row_groups == 4
    assert pa.types.is_dictionary(pq.read_table(io.BytesIO(data)).schema.field("task_id").type)
    fast, reference = both(rows, data, probe="beta")
    assert fast.episodes.content_digest() == reference.episodes.content_digest()


def test_a_secret_is_redacted_as_in_jsonl():
    rows = records(random.Random(4), 40)
    rows[7] = {**rows[7], "failure_reason": f"auth failed with token {SECRET}",
               "metadata": {"note": f"key {SECRET}"}}
    fast, reference = both(rows, parquet(table_of(rows)))
    assert SECRET not in json.dumps(fast.to_json_dict())
    assert fast.episodes.content_digest() == reference.episodes.content_digest()
    assert fast.redactions and [r.location for r in fast.redactions] == [
        r.location.replace("line 8", "row 8") for r in reference.redactions]


def refusal(table: pa.Table | bytes, probe: str = "alpha") -> str:
    data = table if isinstance(table, bytes) else parquet(table)
    with pytest.raises(InputError) as caught:
        parse_parquet(data, source_name="e.parquet", plan=make_plan(13), probe_id=probe)
    message = str(caught.value)
    assert "\n" not in message and "e.parquet" in message
    return message


BASE = {"task_id": ["suite/0", "suite/1", "suite/0"], "axis": ["nominal"] * 3, "level": [0, 0, 0],
        "episode_index": [0, 1, 2], "success": [True, False, True]}


@pytest.mark.parametrize("change, expected", [
    ({"success": ["true", "false", "true"]}, "row 1.success"),
    ({"episode_index": [0, -1, 2]}, "row 2.episode_index"),
    ({"episode_index": [0.0, 1.5, 2.0]}, "row 2.episode_index"),
    ({"task_id": ["suite/0", None, "suite/0"]}, "row 2.task_id"),
    ({"status": ["completed", "finished", "completed"]}, "row 2"),
    ({"probe_id": ["alpha", "alpha", "beta"]}, "row 3.probe_id"),
    ({"metadata": ['{"a": 1}', "[1]", None]}, "row 2.metadata"),
    ({"metadata.tags": [["a"], ["b"], []]}, "column 'metadata.tags'"),
    ({"metadata": [1, 2, 3]}, "column 'metadata'"),
    ({"metadata": [{"a": 1, "tags": ["x"]}, {"a": 2, "tags": []}, None]}, "column 'metadata' field 'tags'"),
    ({"metadata": [{"inner": {"b": 1}}] * 3}, "column 'metadata' field 'inner'"),
    ({"metadata": pa.array([{"m": [("k", 1)]}] * 3, pa.struct([("m", pa.map_(pa.string(), pa.int64()))]))},
     "column 'metadata' field 'm'"),
    ({"metadata": [{"blob": b"\x00"}] * 3}, "column 'metadata' field 'blob'"),
    ({"metadata": pa.array([{"at": 0}] * 3, pa.struct([("at", pa.timestamp("s"))]))}, "column 'metadata' field 'at'"),
    ({"metadata": [{"reward": 1.0}, {"reward": float("nan")}, None]}, "row 2.metadata.reward"),
    ({"score": [1.0, 0.0, 1.0]}, "column 'score'"),
    ({"seed": [b"x", b"y", b"z"]}, "column 'seed'"),
    ({"cell_id": ["alpha:suite/0:nominal:0", "alpha:suite/0:nominal:0", "alpha:suite/0:nominal:0"]},
     "row 2.cell_id"),
])
def test_bad_values_are_refused_naming_row_and_field(change, expected):
    assert expected in refusal(pa.table({**BASE, **change}))


def test_missing_columns_zero_rows_and_not_parquet():
    assert "episode_index" in refusal(pa.table({k: v for k, v in BASE.items() if k != "episode_index"}))
    assert "no rows" in refusal(pa.table({k: pa.array([], pa.array(v).type) for k, v in BASE.items()}))
    assert "not a readable Parquet file" in refusal(b'{"task_id": "suite/0"}\n')
    assert "not a readable Parquet file" in refusal(parquet(pa.table(BASE))[:-20])


def test_a_row_group_of_another_schema_cannot_be_written():
    # A Parquet file has one schema for all its row groups: pyarrow refuses to write another.
    writer = pq.ParquetWriter(io.BytesIO(), pa.table(BASE).schema)
    writer.write_table(pa.table(BASE))
    with pytest.raises(ValueError):
        writer.write_table(pa.table({**BASE, "success": ["yes", "no", "yes"]}))


def test_cli_imports_parquet_and_refuses_what_is_not(tmp_path, capsys):
    assert "parquet" in FORMATS
    rows = records(random.Random(3), 50)
    plan_path = write_plan(tmp_path, make_plan(13))
    (tmp_path / "e.parquet").write_bytes(parquet(table_of(rows)))
    (tmp_path / "e.jsonl").write_text(jsonl(rows))
    outputs = {}
    for fmt in ("parquet", "jsonl"):
        out = tmp_path / f"{fmt}.audit.json"
        run = run_cli(["audit", "import", fmt, tmp_path / f"e.{fmt}", "--plan", plan_path, "--probe", "alpha",
                       "--output", out])
        assert run.code == 0, run.stderr
        outputs[fmt] = read_json(out)
    assert outputs["parquet"]["episodes"] == outputs["jsonl"]["episodes"]
    (tmp_path / "bad.parquet").write_text(jsonl(rows))
    out = tmp_path / "bad.audit.json"
    run = run_cli(["audit", "import", "parquet", tmp_path / "bad.parquet", "--plan", plan_path, "--probe", "alpha",
                   "--output", out])
    assert run.code == 2 and not out.exists()
    assert len(run.stderr.strip().splitlines()) == 1 and "bad.parquet" in run.stderr
    with pytest.raises(SystemExit):
        main(["audit", "import", "--help"])
    assert "parquet" in capsys.readouterr().out
