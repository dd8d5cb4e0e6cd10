"""The campaign and identity detectors group rows in numpy (the packet command loads no pandas); here
they are checked against the pandas groupbys they replaced (kept verbatim below as the reference) on
random evidence with run ids, recorded harness tasks, perturbation metadata and seed offsets."""

from __future__ import annotations

import random

import numpy as np
import pytest

from test_conformance import audit, make_plan
from test_scale import defective_rows
from worldflux_nb.core import detect_campaign, detect_identity
from worldflux_nb.core.conformance import check_conformance
from worldflux_nb.core.detect_campaign import MIN_RUN_ROWS, _planned_run_seed
from worldflux_nb.core.detect_identity import _LANGUAGE_AXES, _matches, normalised, registry_texts
from worldflux_nb.core.detect_outcome import unverified_strata
from worldflux_nb.core.finding_cells import in_plan_order, named
from worldflux_nb.core.findings import plural
from worldflux_nb.models.packet import Finding


def reference_seed_runs(plan: ProtocolPlan, result: ConformanceResult, total: int) -> list[Finding]:
    """Seed mismatches grouped per probe by their offset from the plan (or by one fixed seed)."""
    bad = result.rows_in("seed_mismatch")[["probe_id", "cell_id", "planned_ix", "seed", "planned_seed"]]
    out = []
    if not len(bad):
        return out
    bad = bad.assign(offset=bad["seed"].astype("int64") - bad["planned_seed"].astype("int64"))
    matched = result.arrays.attempts > 0
    for probe, mine in bad.groupby("probe_id", sort=True):
        run_seed = _planned_run_seed(plan, probe)
        groups = [("offset", key, group) for key, group in mine.groupby("offset", sort=True)
                  if len(group) >= MIN_RUN_ROWS]
        left = mine[~mine["offset"].isin([key for _, key, _ in groups])]
        groups += [("fixed", key, group) for key, group in left.groupby("seed", sort=True)
                   if len(group) >= MIN_RUN_ROWS and group["planned_seed"].nunique() > 1]
        for how, key, group in groups:
            episodes = np.unique(group["planned_ix"].to_numpy())
            lost = int(np.count_nonzero(~matched[episodes]))
            shown, more, listed = named(in_plan_order(plan, group["cell_id"]))
            if how == "offset" and run_seed is not None:
                what = f"run seed {run_seed + int(key)} instead of the planned {run_seed}"
            elif how == "offset":
                what = f"seeds offset by {int(key):+d} from the planned ones"
            else:
                what = f"one fixed seed {int(key)} where the plan has per-episode seeds"
            out.append(Finding(
                kind="another_run", family="campaign", probe_id=probe,
                planned_affected=len(episodes), share=len(episodes) / total,
                statement=(f"{probe}: {plural(len(group), 'row')} over {plural(len(episodes), 'planned episode')} "
                           f"come from another run ({what}) in {listed}; none of them counts, and "
                           f"{lost} of those planned episodes have no row from the planned run."),
                question=(f"On {probe}, evidence in {listed} comes from a run with {what}. Why was that run "
                          "made, how many runs were made in all, and where is the planned run's evidence?"),
                cells=shown, cells_more=more))
    return out


def reference_run_ids(plan: ProtocolPlan, result: ConformanceResult, total: int) -> list[Finding]:
    """A probe whose rows carry more than one harness run id: runs combined into one body of evidence."""
    carried = result.rows_where(result.present("run_id"))[["probe_id", "run_id", "cell_id", "planned_ix", "category"]]
    out = []
    for probe, mine in carried.groupby("probe_id", sort=True):
        runs = mine["run_id"].value_counts()
        if len(runs) < 2:
            continue
        runs = runs.sort_index().sort_values(ascending=False, kind="stable")
        minority = mine[mine["run_id"] != runs.index[0]]
        episodes = minority.loc[minority["planned_ix"] >= 0, "planned_ix"].nunique()
        shared = int((mine[mine["planned_ix"] >= 0].groupby("planned_ix")["run_id"].nunique() > 1).sum())
        shown, more, listed = named(in_plan_order(plan, minority["cell_id"].dropna()))
        run_list = ", ".join(f"{run} ({n} rows)" for run, n in list(runs.items())[:5])
        out.append(Finding(
            kind="runs_combined", family="campaign", probe_id=probe,
            planned_affected=int(episodes), share=int(episodes) / total,
            statement=(f"{probe}: rows come from {plural(len(runs), 'harness run')} ({run_list}"
                       + (f" and {len(runs) - 5} more" if len(runs) > 5 else "") + "); "
                       f"{plural(shared, 'planned episode')} ran in more than one of them."),
            question=(f"On {probe}, {len(runs)} harness runs were combined (other runs in {listed or 'no planned cell'}). "
                      "Were they all planned, and is every run's evidence included — not only the best?"),
            cells=shown, cells_more=more))
    return out


def reference_task_texts(plan: ProtocolPlan, result: ConformanceResult, total: int) -> list[Finding]:
    present = result.present("harness_task")
    if not present.any():
        return []
    texts = registry_texts(plan)
    recorded = result.rows_where(present)[["probe_id", "task_id", "axis", "harness_task", "cell_id", "planned_ix"]]
    recorded = recorded[~recorded["axis"].astype(str).str.contains(_LANGUAGE_AXES)]
    out = []
    for probe, mine in recorded.groupby("probe_id", sort=True):
        wrong = []
        for (task, harness), group in mine.groupby(["task_id", "harness_task"], sort=True):
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
        episodes = len({int(ix) for *_, g in wrong for ix in g["planned_ix"] if ix >= 0})
        shown_cells, more, listed = named(in_plan_order(plan, (c for *_, g in wrong for c in g["cell_id"])))
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


def evidence(seed: int):
    rng = random.Random(seed)
    plan = make_plan(int(rng.choice([6, 9])))
    rows = defective_rows(plan, rng)
    tasks = sorted({c.task_id for c in plan.cells})
    for probe_rows in rows.values():
        for r in probe_rows:
            if rng.random() < 0.6:
                r["run_id"] = rng.choice(["run-a", "run-b", "run-c", "Run-a", "z"])
            if rng.random() < 0.5:
                r["harness_task"] = rng.choice(tasks + ["something else", r["task_id"], r["task_id"].upper() + "."])
            if rng.random() < 0.1 and r.get("seed") is not None:
                r["seed"] = r["seed"] + rng.choice([3, 3, -2, 50])
    return plan, check_conformance(plan, [audit(plan, probe, probe_rows) for probe, probe_rows in rows.items()])


@pytest.mark.parametrize("seed", range(12))
def test_numpy_groupings_are_the_pandas_groupbys(seed):
    plan, result = evidence(seed)
    total = max(len(result.arrays.keys), 1)
    assert detect_campaign.seed_run_findings(plan, result, total) == reference_seed_runs(plan, result, total)
    assert detect_campaign.run_id_findings(plan, result, total) == reference_run_ids(plan, result, total)
    assert detect_identity.task_text_findings(plan, result, total) == reference_task_texts(plan, result, total)


def test_the_random_evidence_finds_each_kind():
    kinds = {f.kind for seed in range(12) for f in
             detect_campaign.campaign_findings(*evidence(seed)) + detect_identity.identity_findings(*evidence(seed))}
    assert {"another_run", "runs_combined", "task_identity_differs"} <= kinds, kinds


@pytest.mark.parametrize("seed", range(12))
def test_unverified_strata_count_the_rows_with_an_outcome(seed):
    """Per cell: conformant rows that completed or timed out, their successes, the unverified ones and
    theirs, counted from the rows frame (re-runs, infra failures and pending rows have no outcome)."""
    plan, result = evidence(seed)
    rows = result.rows
    scored = rows[rows["category"].isin(["matched", "duplicate"]) & rows["status"].isin(["completed", "timeout"])]
    unverified = scored["seed_unverified"] | scored["metadata_unverified"]
    counts = scored.assign(attempts=1, successes=scored["row_success"], unverified=unverified,
                           unverified_successes=unverified & scored["row_success"])
    per_cell = counts.groupby("cell_id")[["attempts", "successes", "unverified", "unverified_successes"]].sum()
    per_cell = per_cell.reindex([c.cell_id for c in plan.cells], fill_value=0).astype("int64")
    expected = [per_cell[name].to_numpy() for name in per_cell.columns]
    got = unverified_strata(result)
    for name, mine, theirs in zip(("attempts", "successes", "unverified", "unverified successes"), got, expected):
        assert mine.tolist() == theirs.tolist(), name


def test_the_random_evidence_has_rows_without_an_outcome_and_unverified_ones():
    """What tells the strata from a count of every attempt: matched rows with no outcome, and unverified rows."""
    results = [evidence(seed)[1] for seed in range(12)]
    assert all((r.rows["status"].isin(["infra_failure", "pending"]) & r.rows["category"].eq("matched")).any()
               for r in results)
    assert sum(unverified_strata(r)[2].sum() > 0 for r in results) >= 6
