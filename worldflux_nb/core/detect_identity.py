"""Identity findings: is the task a row claims the task the harness says it ran?

A row's `harness_task` (the task name or instruction exactly as the harness recorded it) is
compared with the registry's text for the plan task the row is filed under; perturbation
parameters a harness records in metadata (LIBERO-plus `category`, `difficulty_level`) with the
row's axis and level. Every task mapping an importer applied is listed, because a mapping is
where an easy task can be filed under a hard one's name.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from worldflux_nb.core.conformance import ConformanceResult
from worldflux_nb.core.bulk import first_appearance
from worldflux_nb.core.finding_cells import (
    groups_of, in_plan_order, named, planned_episode_count, probe_groups, row_cell_ids,
)
from worldflux_nb.core.findings import plural
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.packet import Finding, TaskMappingEntry
from worldflux_nb.models.plan import ProtocolPlan

_SCENE_PREFIX = re.compile(r"^[a-z_]+scene\d+[ _]")
_AXIS_KEYS = ("category", "perturbation", "perturbation_axis")
_LEVEL_KEYS = ("difficulty_level", "difficulty", "perturbation_level")
# Axes whose point is to change the instruction: a recorded instruction there is not the registry's.
_LANGUAGE_AXES = re.compile(r"language|instruction|paraphrase|new_task")


def normalised(text: object) -> str:
    """Task text compared loosely: case, underscores, dashes, scene prefixes and full stops ignored."""
    value = _SCENE_PREFIX.sub("", str(text).strip().lower())
    value = re.sub(r"[_\-\s]+", " ", value).strip(" .")
    return value


def _token(text: object) -> str:
    value = re.sub(r"[^a-z0-9]", "", str(text).lower())
    return value[:-1] if value.endswith("s") else value


def registry_texts(plan: ProtocolPlan) -> dict[tuple[str, str], set[str]]:
    """(probe, task) -> the normalised names a harness may record for it: the task id and instruction."""
    from worldflux_nb.core.registry import builtin_registry, contract_probe

    probes = {p.probe_id: p for p in builtin_registry().probes}
    probes.update({c.probe_id: contract_probe(c) for c in plan.custom_contracts})
    texts: dict[tuple[str, str], set[str]] = {}
    for selected in plan.selected_probes:
        probe = probes.get(selected.probe_id)
        for task in probe.tasks if probe else ():
            texts[(selected.probe_id, task.task_id)] = {normalised(task.task_id), normalised(task.instruction)}
    return texts


def _matches(recorded: str, names: set[str]) -> bool:
    return any(recorded == name or (len(name) > 12 and name in recorded) for name in names)


def task_text_findings(plan: ProtocolPlan, result: ConformanceResult, total: int) -> list[Finding]:
    present = result.present("harness_task")
    if not present.any():
        return []
    texts = registry_texts(plan)
    a = result.arrays
    language = np.array([bool(_LANGUAGE_AXES.search(str(axis))) for axis in a.place_fields[2].tolist()], dtype=bool)
    rows = np.flatnonzero(present)
    rows = rows[~language[a.ev.place[rows]]]
    if not len(rows):
        return []
    # Rows grouped by (probe, task, recorded text): per distinct (place, text) first, then per key.
    harness_code, harness_texts = a.ev.optional_codes("harness_task", rows)
    pairs, pair_of_row = np.unique(a.ev.place[rows].astype(np.int64) * len(harness_texts) + harness_code,
                                   return_inverse=True)
    pair_keys = [(a.place_fields[0][p], a.place_fields[1][p], harness_texts[h])
                 for p, h in zip((pairs // len(harness_texts)).tolist(), (pairs % len(harness_texts)).tolist())]
    key_of_pair, keys = first_appearance(pair_keys)
    group_rows = [rows[g] for g in groups_of(key_of_pair[pair_of_row.reshape(-1)], len(keys))]
    out = []
    for probe in sorted({probe for probe, _, _ in keys}):
        wrong = []
        for (_, task, harness), group in sorted(((k, g) for k, g in zip(keys, group_rows) if k[0] == probe),
                                                key=lambda item: item[0]):
            names = texts.get((probe, task))
            if names is None:
                continue
            said = normalised(harness)
            if _matches(said, names):
                continue
            other = [t for (p, t), n in texts.items() if p == probe and t != task and _matches(said, n)]
            wrong.append((task, harness, other[0] if other else None, group))
        if not wrong:
            continue
        rows_wrong = sum(len(g) for *_, g in wrong)
        wrong_rows = np.concatenate([g for *_, g in wrong])
        episodes = planned_episode_count(result, wrong_rows)
        shown_cells, more, listed = named(in_plan_order(plan, row_cell_ids(result, wrong_rows)))
        shown = "; ".join(f"{len(g)} filed as {task} record {harness!r}"
                          + (f" (the registry text of {other})" if other else "")
                          for task, harness, other, g in wrong[:5])
        out.append(Finding(
            kind="task_identity_differs", family="identity", probe_id=probe,
            planned_affected=episodes, share=episodes / total,
            statement=(f"{probe}: {plural(rows_wrong, 'row')} ({plural(episodes, 'planned episode')}) record a "
                       f"task other than the plan task they are filed under: {shown}"
                       + (f" and {len(wrong) - 5} more" if len(wrong) > 5 else "") + "."),
            question=(f"On {probe}, rows in {listed or 'unplanned cells'} record another task than the plan's: "
                      "which task did the harness actually run, and who mapped it onto the plan task?"),
            cells=shown_cells, cells_more=more))
    return out


def perturbation_findings(plan: ProtocolPlan, result: ConformanceResult, total: int) -> list[Finding]:
    """Rows whose recorded perturbation category or difficulty differs from their axis or level."""
    a = result.arrays
    if not len(a.ev):
        return []
    recorded = []
    for meta in a.ev.metadatas:
        axis = next((meta[k] for k in _AXIS_KEYS if meta.get(k) is not None), None)
        level = next((meta[k] for k in _LEVEL_KEYS if meta.get(k) is not None), None)
        recorded.append((axis, level))
    if not any(axis is not None or level is not None for axis, level in recorded):
        return []
    place = [tuple(p) for p in a.ev.places]
    bad_pair = np.zeros((len(place), len(recorded)), dtype=bool)
    used = np.unique(np.stack([a.ev.place, a.ev.metadata]), axis=1) if len(a.ev) else np.zeros((2, 0), int)
    for p, m in used.T.tolist():
        axis, level = recorded[m]
        _, _, row_axis, row_level = place[p]
        if (axis is not None and _token(axis) != _token(row_axis)) or \
                (level is not None and str(level).strip() != str(row_level).strip()):
            bad_pair[p, m] = True
    bad = bad_pair[a.ev.place, a.ev.metadata]
    if not bad.any():
        return []
    rows = np.flatnonzero(bad)
    out = []
    for probe, at in probe_groups(result, rows):
        mine = rows[at]
        episodes = planned_episode_count(result, mine)
        shown_cells, more, listed = named(in_plan_order(plan, row_cell_ids(result, mine)))
        out.append(Finding(
            kind="perturbation_differs", family="identity", probe_id=probe,
            planned_affected=episodes, share=episodes / total,
            statement=(f"{probe}: {plural(len(mine), 'row')} record a perturbation category or difficulty "
                       f"other than the axis and level they are filed under ({listed or 'unplanned cells'})."),
            question=(f"On {probe}, rows in {listed or 'unplanned cells'} were run under another perturbation "
                      "than the one they are filed under: which variant actually ran?"),
            cells=shown_cells, cells_more=more))
    return out


def task_mappings(audit_inputs: Sequence[AuditInput]) -> list[TaskMappingEntry]:
    """Every harness name an importer filed under a different plan task, per audit input."""
    out = []
    for i, ai in enumerate(audit_inputs):
        for name, task in sorted(ai.source.task_mapping.items()):
            if name != task:
                out.append(TaskMappingEntry(probe_id=ai.probe_id, input=i, harness_name=name[:2000],
                                            plan_task=task[:2000]))
    return out


def identity_findings(plan: ProtocolPlan, result: ConformanceResult) -> list[Finding]:
    total = max(len(result.arrays.keys), 1)
    return task_text_findings(plan, result, total) + perturbation_findings(plan, result, total)
