"""The plan flattened to one row per planned episode: the handoff to whoever runs the evaluation."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from typing import TYPE_CHECKING

import numpy as np

from worldflux_nb.core.harness_invocations import invocations_for
from worldflux_nb.core.plan_cells import ExpandedEpisodes, expand_cells
from worldflux_nb.escaping import csv_cell
from worldflux_nb.models.common import utc_timestamp
from worldflux_nb.models.plan import ROW_SEPARATOR, ProtocolPlan, RunSheet, episode_row_parts

if TYPE_CHECKING:
    import pandas as pd

RUN_SHEET_COLUMNS = ("cell_id", "probe_id", "task_id", "axis", "level", "episode_index", "seed")


def planned_episodes_frame(plan: ProtocolPlan) -> "pd.DataFrame":
    """Every planned episode with the run-sheet columns, built column-wise (fast at a million rows).

    `level` keeps its plan type (int or str, object dtype); `seed` is nullable Int64 (NA where the
    harness records none).
    """
    import pandas as pd  # loaded on use: the run sheet command needs no pandas

    cells = plan.cells
    expanded = expand_cells(cells)
    counts = expanded.counts

    def repeated(values: list) -> np.ndarray:
        column = np.empty(len(values), dtype=object)
        column[:] = values
        return np.repeat(column, counts)

    episode_index = expanded.episode_index
    seeds = pd.arrays.IntegerArray(expanded.seed, expanded.seed_missing)
    return pd.DataFrame({
        "cell_id": repeated([c.cell_id for c in cells]),
        "probe_id": repeated([c.probe_id for c in cells]),
        "task_id": repeated([c.task_id for c in cells]),
        "axis": repeated([c.axis for c in cells]),
        "level": repeated([c.level for c in cells]),
        "episode_index": episode_index,
        "seed": seeds,
    }, columns=list(RUN_SHEET_COLUMNS))


def run_sheet_instructions(plan: ProtocolPlan, gaps: list[str] = ()) -> list[str]:
    """What the operator must do, per probe, so the evidence can be checked against this plan."""
    lines = [
        "Run exactly the invocations below (or, without a listed harness, every row); do not re-run "
        "a failed episode to replace it (re-runs are counted and re-rolling a failure never helps).",
        f"Record plan_digest {plan.plan_digest} with the evidence.",
    ]
    for probe in plan.selected_probes:
        if probe.seed_mode == "initial_state_index":
            how = (f"episode_index is the initial-state index (0..n-1 of each task, in the "
                   f"harness's own order); pass run seed {probe.run_seed}: it is every episode's "
                   "planned seed")
        elif probe.seed_mode == "per_episode_seed":
            how = (f"seed each episode with run seed {probe.run_seed} + episode_index "
                   "(the seed column)")
        else:
            how = f"pass run seed {probe.run_seed} to the harness; it is every episode's planned seed"
        pinned = ", ".join(f"{k}={v}" for k, v in sorted(probe.pinned_metadata.items()))
        lines.append(f"{probe.probe_id}: {how}. Pinned values (recorded once per run where the "
                     f"harness can, see each invocation's not_recorded): {pinned}.")
    return lines + list(gaps)


def _header(plan: ProtocolPlan) -> RunSheet:
    """The run sheet without its episodes: everything the per-episode rows do not repeat."""
    if plan.plan_digest is None:
        raise ValueError("the plan must be sealed before a run sheet is made from it")
    invocations, gaps = invocations_for(plan)
    return RunSheet(plan_id=plan.plan_id, plan_digest=plan.plan_digest, episodes=[],
                    invocations=invocations, instructions=run_sheet_instructions(plan, gaps),
                    created_at=utc_timestamp())


def _episode_rows(plan: ProtocolPlan, expanded: ExpandedEpisodes, limit: int | None = None) -> list[dict]:
    """The first `limit` (or all) planned episodes as run-sheet row dicts."""
    per_cell = [(c.cell_id, c.probe_id, c.task_id, c.axis, c.level) for c in plan.cells]
    window = slice(None, limit)
    return [{"cell_id": cell[0], "probe_id": cell[1], "task_id": cell[2], "axis": cell[3],
             "level": cell[4], "episode_index": index, "seed": None if missing else seed}
            for cell, index, seed, missing in zip(
                (per_cell[c] for c in expanded.planned_cell[window].tolist()),
                expanded.episode_index[window].tolist(), expanded.seed[window].tolist(),
                expanded.seed_missing[window].tolist())]


def run_sheet_for(plan: ProtocolPlan) -> RunSheet:
    """The sealed run sheet of a sealed plan as a model: one row per planned episode and the
    harness invocations (rows built from the plan's validated cells, not validated again)."""
    header = _header(plan)
    expanded = expand_cells(plan.cells)
    sheet = RunSheet.model_construct(**{**dict(header), "episodes": _episode_rows(plan, expanded)})
    return sheet.model_copy(update={"run_sheet_digest": sheet.computed_digest()})


@dataclass(frozen=True)
class RunSheetFiles:
    """A plan's run sheet written column-wise (Arrow string kernels, no per-row Python objects).

    `header` is the sealed run sheet without its rows (its digest covers the rows), `preview` its
    first rows for the Markdown, `rows_json` the canonical rows joined by ROW_SEPARATOR (UTF-8, a
    read-only buffer), `csv` the CSV file (None unless asked for). `io.artifacts.run_sheet_json`
    makes the JSON file of it, byte-identical to `artifact_json(run_sheet_for(plan))` at a fraction
    of the time for a million episodes.
    """

    header: RunSheet
    episodes_total: int
    preview: list[dict]
    rows_json: memoryview
    csv: bytes | None


# The digest's rows are joined by "," and the file's by ROW_SEPARATOR, which is "," then this:
# canonical rows hold no raw newline, so dropping it from the file's rows gives the digest's.
_ROW_INDENT = ROW_SEPARATOR[1:].encode("utf-8")
_DIGEST_CHUNK = 1 << 24


def run_sheet_files(plan: ProtocolPlan, preview_rows: int = 2500, *, csv: bool = True) -> RunSheetFiles:
    import pyarrow as pa
    import pyarrow.compute as pc

    from worldflux_nb.core.arrow_values import numbers, text as text_scalar, texts

    header = _header(plan)
    expanded = expand_cells(plan.cells)
    cells = plan.cells
    total = len(expanded.episode_index)
    take = numbers(expanded.planned_cell)
    text = pa.large_string()

    def per_cell(values: list[str]) -> pa.Array:
        return texts(values).take(take)

    def concatenated(columns: list[pa.Array], separator: str) -> memoryview:
        """Every row's columns joined, each row followed by `separator`, as one UTF-8 buffer
        (the data buffer of the joined string array is exactly the rows one after another)."""
        if total == 0:
            return memoryview(b"")
        rows = pc.binary_join_element_wise(*columns, text_scalar(separator), text_scalar(""))
        offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)
        end = int(offsets[rows.offset + len(rows)]) - len(separator.encode("utf-8"))
        return memoryview(rows.buffers()[2]).toreadonly()[:end]

    parts = [episode_row_parts(c.cell_id, c.probe_id, c.task_id, c.axis, c.level) for c in cells]
    missing = numbers(expanded.seed_missing)
    index_text = pc.cast(numbers(expanded.episode_index), text)
    seed_text = pc.cast(numbers(expanded.seed), text)
    rows_json = concatenated([per_cell([p[0] for p in parts]), index_text, per_cell([p[1] for p in parts]),
                              pc.if_else(missing, text_scalar("null"), seed_text),
                              per_cell([p[2] for p in parts])], ROW_SEPARATOR)
    # The digest's canonical form (RunSheet.canonical_bytes) hashed in pieces, never copied whole.
    before, after = header.canonical_bytes().split(b'"episodes":[]', 1)
    digest = hashlib.sha256(before + b'"episodes":[')
    _hash_rows(digest, rows_json)
    digest.update(b"]" + after)
    sealed = header.model_copy(update={"run_sheet_digest": "sha256:" + digest.hexdigest()})
    csv_file = None
    if csv:
        csv_columns = [per_cell([csv_prefix((c.cell_id, c.probe_id, c.task_id, c.axis, c.level)) + ","
                                 for c in cells]), index_text,
                       text_scalar(","), pc.if_else(missing, text_scalar(""), seed_text)]
        csv_file = b"".join(((",".join(RUN_SHEET_COLUMNS) + "\n").encode(), concatenated(csv_columns, "\n"),
                             b"\n" if total else b""))
    n = min(preview_rows, total)
    return RunSheetFiles(header=sealed, episodes_total=total, preview=_episode_rows(plan, expanded, n),
                         rows_json=rows_json, csv=csv_file)


def _hash_rows(digest: "hashlib._Hash", rows: memoryview) -> None:
    """The file's rows (joined by ROW_SEPARATOR) hashed as the digest's (joined by ","), in chunks
    cut just before a newline, so no separator straddles two chunks."""
    start, size = 0, len(rows)
    while start < size:
        cut = min(start + _DIGEST_CHUNK, size)
        while cut < size:  # move the cut to the next newline (rows are short: it is near)
            found = rows[cut:cut + 4096].tobytes().find(b"\n")
            if found >= 0:
                cut += found
                break
            cut += 4096
        cut = min(cut, size)
        digest.update(rows[start:cut].tobytes().replace(_ROW_INDENT, b""))
        start = cut


def _csv_field(value: object) -> str:
    """One CSV field: text that a spreadsheet would run as a formula is prefixed with `'`."""
    text = str(value)
    if text[:1].isalnum() and text.isascii() and "," not in text and '"' not in text and "\n" not in text \
            and "\r" not in text:
        return text
    if isinstance(value, str):
        text = csv_cell(text)  # worldflux_nb.escaping: the one rule for spreadsheet formulas
    if any(ch in text for ch in ',"\r\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def csv_prefix(place: tuple) -> str:
    """A cell's first five CSV fields from (cell_id, probe_id, task_id, axis, level)."""
    return ",".join(_csv_field(v) for v in place)


def run_sheet_csv(run_sheet: RunSheet) -> str:
    """The run sheet as CSV with the contract columns; an empty seed means none is recorded."""
    prefixes: dict[tuple, str] = {}
    lines = [",".join(RUN_SHEET_COLUMNS)]
    for e in run_sheet.episodes:
        key = (e["cell_id"], e["probe_id"], e["task_id"], e["axis"], e["level"])
        prefix = prefixes.get(key)
        if prefix is None:
            prefix = prefixes[key] = csv_prefix(key)
        seed = e["seed"]
        lines.append(f"{prefix},{e['episode_index']},{'' if seed is None else seed}")
    return "\n".join(lines) + "\n"
