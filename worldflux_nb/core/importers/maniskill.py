"""ManiSkill `episode_results.json`: `{episode_id: {success, elapsed_steps, ...}}`.

Keys are episode ids (non-negative integers written as strings) and are the episode index: explicit
identity. The file names no task: `--task` (or the probe's only planned task) says which; a `seed`
inside an entry is kept as the recorded seed, otherwise seed is null. Other scalar fields
(`elapsed_steps`, `success_once`, `return` ...) are kept as metadata.
"""

from __future__ import annotations

from typing import Any

from worldflux_nb.core.importers.common import (
    ImportOptions, Redactor, aggregate_only, probe_tasks, assemble, default_task, optional_seed, require_bool, require_dict,
    require_index, resolve_cell, scalar_extras,
)
from worldflux_nb.errors import InputError
from worldflux_nb.models.evidence import AuditInput, EvidenceRow
from worldflux_nb.models.plan import ProtocolPlan

IMPORTER = "maniskill"
ALLOW_NAN = False


def detect(data: Any) -> str | None:
    if not isinstance(data, dict) or not data:
        return None
    if all(_is_id(k) and isinstance(v, dict) for k, v in data.items()):
        return "per_episode" if any("success" in v for v in data.values()) else "score_only"
    if any(k in data for k in ("success_rate", "success_once_rate", "success_at_end_rate")) and \
            all(not isinstance(v, dict) for v in data.values()):
        return "aggregate_only"
    return None


def _is_id(key: str) -> bool:
    return key.strip().lstrip("-").isdigit()


def parse_maniskill(data: Any, *, source_name: str, plan: ProtocolPlan, probe_id: str,
                    options: ImportOptions = ImportOptions()) -> AuditInput:
    src = source_name
    probe_tasks(plan, probe_id, src)  # an unknown probe is refused before the file is read
    body = require_dict(data, src, None)
    if not body:
        raise InputError(src, None, "holds no episodes")
    if detect(body) == "aggregate_only":
        raise aggregate_only(src, "<episode_id>", "no per-episode entries")
    mapping: dict[str, str] = {}
    notes: list[str] = []
    redactor = Redactor()
    task_id = default_task(plan=plan, probe_id=probe_id, options=options, source=src,
                           what="episode_results.json", mapping=mapping)
    axis, level = resolve_cell(plan=plan, probe_id=probe_id, task_id=task_id, options=options,
                               source=src, notes=notes)
    rows: list[EvidenceRow] = []
    for key, raw in body.items():
        where = str(key)
        try:
            index = int(key.strip())
        except ValueError:
            raise InputError(src, where, "is not an episode id: keys must be episode ids "
                                         "({episode_id: {success, elapsed_steps, ...}})") from None
        index = require_index(index, src, where)
        entry = require_dict(raw, src, where)
        if "success" not in entry:
            raise InputError(src, f"{where}.success", "is required but missing")
        success = require_bool(entry["success"], src, f"{where}.success")
        seed = optional_seed(entry.get("seed"), src, f"{where}.seed")
        row = EvidenceRow(probe_id=probe_id, task_id=task_id, axis=axis, level=level,
                          episode_index=index, seed=seed, success=success, status="completed")
        metadata = redactor.metadata(scalar_extras(entry, ("success", "seed")), f"{where}.metadata")
        if metadata:
            row["metadata"] = metadata
        rows.append(row)
    rows.sort(key=lambda r: r["episode_index"])
    return assemble(rows, plan=plan, probe_id=probe_id, source=src, importer=IMPORTER,
                    format_version="ManiSkill episode_results.json", identity="explicit",
                    task_mapping=mapping, notes=notes, redactor=redactor)
