"""The conformance rules of DESIGN.md written the plain way: dicts and one loop over the rows.

It is the speed baseline for the vectorised implementation and an independent cross-check of its
counts; it reads plain JSON-shaped dicts (plan.json, audit_input.json) and uses no pandas.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

COUNT_FIELDS = ("planned_episodes", "matched", "missing", "out_of_protocol", "duplicates",
                "seed_mismatches", "metadata_mismatches", "infra_failures", "pending",
                "unverified_seeds", "unverified_metadata", "evidence_rows")


def episode_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (row["probe_id"], row["task_id"], row["axis"], row["level"], row["episode_index"])


def cell_episodes(cell: Mapping[str, Any]) -> list[tuple[int, int | None]]:
    """A plan.json cell's (episode index, seed) pairs: a range or a list, a seed rule or a list."""
    episodes = cell["episodes"]
    indexes = (list(range(episodes["start"], episodes["start"] + episodes["count"]))
               if isinstance(episodes, dict) else list(episodes))
    seeds = cell.get("seeds", {"rule": "none"})
    if isinstance(seeds, list):
        return list(zip(indexes, seeds))
    rule, run_seed = seeds["rule"], seeds.get("run_seed")
    return [(i, None if rule == "none" else run_seed if rule == "run_seed" else run_seed + i)
            for i in indexes]


def conformance_counts(plan: Mapping[str, Any], audit_inputs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Every evidence row placed in one category, tested in the documented order; totals and per-cell counts."""
    planned: dict[tuple[Any, ...], tuple[str, int | None]] = {}
    cell_of: dict[tuple[Any, ...], str] = {}
    for cell in plan["cells"]:
        cell_of[(cell["probe_id"], cell["task_id"], cell["axis"], cell["level"])] = cell["cell_id"]
        for index, seed in cell_episodes(cell):
            key = (cell["probe_id"], cell["task_id"], cell["axis"], cell["level"], index)
            planned[key] = (cell["cell_id"], seed)
    pinned = {p["probe_id"]: p.get("pinned_metadata", {}) for p in plan["selected_probes"]}
    for contract in plan.get("custom_contracts", []):
        pinned.setdefault(f"custom:{contract['contract_id']}", {}).update(contract.get("pinned_values", {}))

    counts = dict.fromkeys(COUNT_FIELDS, 0)
    counts["planned_episodes"] = len(planned)
    digest_mismatches = []
    first: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    all_succeeded: dict[tuple[Any, ...], bool] = {}
    statuses: dict[tuple[Any, ...], set[str]] = {}
    per_cell = {cell["cell_id"]: {"matched": 0, "duplicates": 0, "out_of_protocol": 0,
                                  "seed_mismatches": 0, "metadata_mismatches": 0}
                for cell in plan["cells"]}
    for audit in audit_inputs:
        if audit["plan_digest"] != plan["plan_digest"]:
            digest_mismatches.append({"probe_id": audit["probe_id"], "expected": plan["plan_digest"],
                                      "found": audit["plan_digest"],
                                      "rows_rejected": len(audit["episodes"])})
            continue
        for row in audit["episodes"]:
            counts["evidence_rows"] += 1
            key = episode_key(row)
            if key not in planned:
                counts["out_of_protocol"] += 1
                if key[:4] in cell_of:  # an unplanned episode of a planned cell
                    per_cell[cell_of[key[:4]]]["out_of_protocol"] += 1
                continue
            cell_id, planned_seed = planned[key]
            seed = row.get("seed")
            if seed is not None and planned_seed is not None and seed != planned_seed:
                counts["seed_mismatches"] += 1
                per_cell[cell_id]["seed_mismatches"] += 1
                continue
            metadata = row.get("metadata") or {}
            differs = absent = False
            for name, value in pinned.get(row["probe_id"], {}).items():
                if name not in metadata:
                    absent = True
                elif metadata[name] != value:
                    differs = True
            if differs:
                counts["metadata_mismatches"] += 1
                per_cell[cell_id]["metadata_mismatches"] += 1
                continue
            if seed is None and planned_seed is not None:
                counts["unverified_seeds"] += 1
            if absent:
                counts["unverified_metadata"] += 1
            succeeded = row["status"] == "completed" and row["success"] is True
            statuses.setdefault(key, set()).add(row["status"])
            if key in first:
                counts["duplicates"] += 1
                per_cell[cell_id]["duplicates"] += 1
                all_succeeded[key] = all_succeeded[key] and succeeded
                continue
            first[key] = row
            all_succeeded[key] = succeeded
            counts["matched"] += 1
            per_cell[cell_id]["matched"] += 1
    # Order-free: an infra failure among an episode's attempts; pending when no attempt got further.
    for seen in statuses.values():
        if "infra_failure" in seen:
            counts["infra_failures"] += 1
        elif "pending" in seen and not seen & {"completed", "timeout"}:
            counts["pending"] += 1
    counts["missing"] = counts["planned_episodes"] - counts["matched"]
    counts["successes_all_planned"] = sum(all_succeeded.values())
    counts["digest_mismatches"] = digest_mismatches
    counts["cells"] = per_cell
    return counts
