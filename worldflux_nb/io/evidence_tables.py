"""Generic evidence files read as columns by DuckDB (the fast path of `audit import jsonl`).

Chosen by measurement (bench/README.md): DuckDB reads JSON Lines in parallel and keeps each field's
JSON type, so a `level` of 3 and of "dim" in one file both survive as what they are (pyarrow's JSON
reader refuses the mix; Polars turns 2.0 and true into "2" and "true" and keeps the last of two
equal keys). A line with keys besides the generic fields, or anything DuckDB cannot read, sends the
whole file to the row-by-row importer, which checks every key and names the bad line.
"""

from __future__ import annotations

import os
from typing import Any

# Every generic field is read from each line's JSON object once, with its JSON type beside it.
JSON_FIELDS = ("probe_id", "task_id", "axis", "level", "episode_index", "seed", "success", "status",
               "metadata")
_CASTS = {"episode_index": "TRY_CAST({v} AS BIGINT)", "seed": "TRY_CAST({v} AS BIGINT)",
          "success": "TRY_CAST({v} AS BOOLEAN)", "metadata": "CAST({v} AS VARCHAR)"}


def _query() -> str:
    paths = ", ".join(f"'$.{name}'" for name in JSON_FIELDS)
    known = ", ".join(f"'{name}'" for name in JSON_FIELDS)
    columns = []
    for i, name in enumerate(JSON_FIELDS, start=1):
        value = f"v[{i}]"
        columns.append(f"NULLIF(json_type({value}), 'NULL') AS {name}_type, "
                       + _CASTS.get(name, "{v} ->> '$'").format(v=value) + f" AS {name}")
    # `other_keys`: keys besides the generic fields, and keys given twice (the row-by-row reader
    # checks and refuses those).
    return (f"WITH raw AS (SELECT json, json_extract(json, [{paths}]) AS v FROM read_ndjson_objects($path)) "
            f"SELECT len(list_filter(json_keys(json), lambda k: NOT list_contains([{known}], k))) "
            f"+ len(json_keys(json)) - len(list_distinct(json_keys(json))) AS other_keys, "
            + ", ".join(columns) + " FROM raw")


def read_jsonl_columns(path: str | os.PathLike[str]) -> Any:
    """The file's generic fields as an Arrow table (values and JSON types, and how many other keys
    each line has), or None if DuckDB cannot read it as JSON Lines."""
    import duckdb

    connection = duckdb.connect()
    try:
        return connection.sql(_query(), params={"path": str(path)}).to_arrow_table()
    except duckdb.Error:
        return None
    finally:
        connection.close()
