"""Policies compared on one frozen plan (DESIGN.md, "Comparing policies").

Each arm's audit inputs go through the same `check_conformance`; its per-planned-episode frame
already applies the re-run rule (a planned episode succeeds only if every conformant attempt did),
and `statistics.counted` applies the plan's denominator policy. Both arms ran the same plan, so
an episode counted in both arms is a pair: a scope with pairs is tested by exact McNemar on the
discordant pairs, a scope without by Boschloo's exact unconditional test (the score test for tables
too large to enumerate; core.compare_stats).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from worldflux_nb.core.compare_asymmetry import asymmetries
from worldflux_nb.core.compare_design import check_policy_name, sequential_looks
from worldflux_nb.core.compare_stats import (
    adjusted, compact_letters, mcnemar_exact, paired_score_interval,
    probability_better, probability_paired_better, unpaired_score_interval, unpaired_test,
)
from worldflux_nb.core.conformance import ConformanceResult, check_conformance, plan_digest
from worldflux_nb.core.episode_outcomes import episode_outcomes
from worldflux_nb.core.statistics import counted, episode_indicators, optional_float
from worldflux_nb.errors import InputError
from worldflux_nb.models.comparison import (
    Arm, Comparison, ComparisonQuestion, LetterGroup, PolicyComparison, SequentialLook,
    SequentialResult,
)
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.plan import ComparisonDesign, ProtocolPlan

EXPLORATORY_MULTIPLICITY = "fdr_bh"  # DESIGN: Benjamini-Hochberg for exploratory screens
QUESTIONS_LIMIT = 60


@dataclass(frozen=True)
class ArmEvidence:
    """One arm after conformance: per planned episode, counted in the denominator and succeeded."""

    name: str
    audits: tuple[AuditInput, ...]
    result: ConformanceResult
    counted: np.ndarray
    success: np.ndarray


def arm_evidence(plan: ProtocolPlan, name: str, audits: Sequence[AuditInput]) -> ArmEvidence:
    result = check_conformance(plan, audits)
    indicators = episode_indicators(episode_outcomes(result.arrays))
    return ArmEvidence(name=name, audits=tuple(audits), result=result,
                       counted=counted(indicators, plan.denominator_policy),
                       success=indicators["success"].to_numpy(dtype=bool))


def shared_evidence(arms: Sequence[tuple[str, Sequence[AuditInput]]]) -> tuple[str, int, str] | None:
    """The first audit input an arm shares with an earlier arm, as (arm, its index there, the earlier
    arm): one evidence in two arms compares a policy with itself and reports a tie."""
    owner: dict[str, str] = {}
    for name, audits in arms:
        for index, audit in enumerate(audits):
            digest = audit.audit_digest or audit.computed_digest()
            if owner.get(digest, name) != name:
                return name, index, owner[digest]
            owner[digest] = name
    return None


def scope_codes(episodes: pd.DataFrame) -> list[tuple[list[str], np.ndarray]]:
    """Per scope family (all, probe, axis, cell): the scope names and each planned episode's code."""
    families = [(["all"], np.zeros(len(episodes), dtype=np.int64))]
    keys = {
        "probe": episodes["probe_id"].astype(str),
        "axis": episodes["probe_id"].astype(str) + "/" + episodes["axis"].astype(str),
        "cell": episodes["cell_id"].astype(str),
    }
    for prefix, values in keys.items():
        codes, names = pd.factorize(values, sort=False)
        families.append(([f"{prefix}:{name}" for name in names], codes.astype(np.int64)))
    return families


def _declared(design: ComparisonDesign | None) -> set[tuple[str, str]]:
    return {(d.baseline, d.candidate) for d in design.declared} if design else set()


def arm_pairs(names: Sequence[str], baseline: str, declared: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every pair of arms once, as (baseline, candidate): a declared orientation first, then the
    named baseline against each other arm, then earlier arm as the baseline."""
    pairs = []
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            if (second, first) in declared:
                pairs.append((second, first))
            elif (first, second) in declared or first == baseline:
                pairs.append((first, second))
            elif second == baseline:
                pairs.append((second, first))
            else:
                pairs.append((first, second))
    declared_first = [p for p in pairs if p in declared]
    return declared_first + [p for p in pairs if p not in declared]


def _scope_rows(base: ArmEvidence, cand: ArmEvidence, names: list[str], codes: np.ndarray,
                confidence: float) -> list[dict]:
    size = len(names)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=mask, minlength=size).astype(np.int64)

    both = base.counted & cand.counted
    a = count(both & base.success & cand.success)
    b = count(both & base.success & ~cand.success)
    c = count(both & ~base.success & cand.success)
    pairs = count(both)
    d = pairs - a - b - c
    left_out = count(base.counted ^ cand.counted)
    p_mcnemar = mcnemar_exact(b, c)
    low, high = paired_score_interval(a, b, c, d, confidence)
    posterior = probability_paired_better(b, c)
    base_s, base_n = count(base.counted & base.success), count(base.counted)
    cand_s, cand_n = count(cand.counted & cand.success), count(cand.counted)
    rows = []
    for i, scope in enumerate(names):
        row = dict(scope=scope, baseline=base.name, candidate=cand.name, pairs=int(pairs[i]),
                   discordant_baseline_only=int(b[i]), discordant_candidate_only=int(c[i]))
        if pairs[i] > 0:
            n = int(pairs[i])
            row.update(paired=True, test="mcnemar_exact", unpaired_left_out=int(left_out[i]),
                       baseline_successes=int(a[i] + b[i]), baseline_denominator=n,
                       candidate_successes=int(a[i] + c[i]), candidate_denominator=n,
                       difference=float((c[i] - b[i]) / n), ci_low=float(low[i]), ci_high=float(high[i]),
                       p_value=float(p_mcnemar[i]), probability_of_improvement=float(posterior[i]))
        else:
            s0, n0, s1, n1 = int(base_s[i]), int(base_n[i]), int(cand_s[i]), int(cand_n[i])
            testable = n0 > 0 and n1 > 0
            ci = unpaired_score_interval(s1, n1, s0, n0, confidence) if testable else (None, None)
            test, p_value = unpaired_test(s1, n1, s0, n0) if testable else (None, None)
            row.update(paired=False, test=test, unpaired_left_out=0,
                       baseline_successes=s0, baseline_denominator=n0, candidate_successes=s1,
                       candidate_denominator=n1, difference=s1 / n1 - s0 / n0 if testable else None,
                       ci_low=optional_float(ci[0]) if testable else None,
                       ci_high=optional_float(ci[1]) if testable else None,
                       p_value=p_value,
                       probability_of_improvement=probability_better(s1, n1, s0, n0) if testable else None)
        rows.append(row)
    return rows


def _arm_model(plan: ProtocolPlan, arm: ArmEvidence) -> Arm:
    probes = list(dict.fromkeys(a.probe_id for a in arm.audits))
    digests: dict[str, list[str]] = {}
    for audit in arm.audits:
        digests.setdefault(audit.probe_id, []).append(audit.audit_digest)
    successes = int(np.count_nonzero(arm.counted & arm.success))
    denominator = int(np.count_nonzero(arm.counted))
    return Arm(name=arm.name, probes=probes, input_digests=digests, conformance=arm.result.conformance,
               successes=successes, denominator=denominator,
               success_rate=successes / denominator if denominator else None)


def _sequential(plan: ProtocolPlan, arms: dict[str, ArmEvidence], pairs: list[tuple[str, str]],
                declared: set[tuple[str, str]], alpha: float) -> list[SequentialResult]:
    design = plan.comparison_design.sequential if plan.comparison_design else None
    if design is None:
        return []
    out = []
    for base_name, cand_name in pairs:
        if (base_name, cand_name) not in declared:
            continue
        base, cand = arms[base_name], arms[cand_name]
        run = base.result.episodes["matched"].to_numpy(bool) | cand.result.episodes["matched"].to_numpy(bool)
        looks = sequential_looks(base.counted & cand.counted, base.success, cand.success, run,
                                 design.look_episodes, alpha)
        stopped = next((look for look in looks if look.reached and look.crossed), None)
        last_reached = max((look.look for look in looks if look.reached), default=0)
        if stopped is not None:
            better = cand_name if stopped.discordant_candidate_only > stopped.discordant_baseline_only else base_name
            decision = (f"stop at look {stopped.look} ({stopped.episodes} episodes per arm): {better} is "
                        f"better (e-value {stopped.e_value:.1f} >= {1 / alpha:.0f})")
        elif last_reached == design.looks:
            decision = (f"all {design.looks} looks reached without crossing {1 / alpha:.0f}: no "
                        "difference shown at the planned maximum")
        else:
            decision = f"continue: {last_reached} of {design.looks} looks reached, none crossed {1 / alpha:.0f}"
        out.append(SequentialResult(
            method=design.method, baseline=base_name, candidate=cand_name, threshold=1 / alpha,
            looks=[SequentialLook(**vars(look)) for look in looks],
            stopped_at_look=stopped.look if stopped else None, decision=decision))
    return out


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:+.{digits}f}"


def _headline(rows: list[PolicyComparison], declared: bool, alpha: float) -> list[str]:
    lines = []
    if not declared:
        lines.append("The plan declared no comparison before scores were seen: every result below is "
                     "exploratory.")
    for row in rows:
        if not row.confirmatory:
            continue
        verdict = ("a difference at the declared alpha" if row.p_adjusted is not None and row.p_adjusted <= alpha
                   else "no difference shown at the declared alpha")
        lines.append(f"{row.candidate} vs {row.baseline} ({row.scope}): difference {_fmt(row.difference)} "
                     f"[{_fmt(row.ci_low)}, {_fmt(row.ci_high)}], {row.test}, adjusted p "
                     f"{'n/a' if row.p_adjusted is None else f'{row.p_adjusted:.4g}'} — {verdict}.")
    return lines


def build_comparison(plan: ProtocolPlan, arms: Mapping[str, Sequence[AuditInput]] | Iterable[tuple[str, Sequence[AuditInput]]],
                     *, baseline: str | None = None, confidence: float = 0.95,
                     created_at: str | None = None) -> Comparison:
    """The sealed comparison of every pair of arms, in every scope, against one frozen plan."""
    items = list(arms.items()) if isinstance(arms, Mapping) else list(arms)
    names = [name for name, _ in items]
    if len(items) < 2:
        raise InputError(None, "arm", "a comparison needs at least two arms")
    if len(set(names)) != len(names):
        raise InputError(None, "arm", f"arm names must be unique ({', '.join(names)})")
    for name in names:
        check_policy_name(name, "arm")
    shared = shared_evidence(items)
    if shared:
        name, index, owner = shared
        raise InputError(None, f"arms.{name}[{index}].audit_digest", f"is the same evidence as arm {owner!r} "
                         "gave; each arm needs its own audit inputs")
    baseline = baseline or names[0]
    if baseline not in names:
        raise InputError(None, "baseline", f"{baseline!r} is not an arm ({', '.join(names)})")
    design = plan.comparison_design
    alpha = design.alpha if design else 0.05
    multiplicity = design.multiplicity if design else "holm"
    declared = _declared(design)
    primary = set(design.primary_scopes) if design else set()
    evidence = {name: arm_evidence(plan, name, audits) for name, audits in items}
    families = scope_codes(evidence[names[0]].result.episodes)
    pairs = arm_pairs(names, baseline, declared)

    raw: list[dict] = []
    for base_name, cand_name in pairs:
        for scope_names, codes in families:
            for row in _scope_rows(evidence[base_name], evidence[cand_name], scope_names, codes, confidence):
                row["confirmatory"] = (base_name, cand_name) in declared and row["scope"] in primary
                raw.append(row)
    for family, method in (("confirmatory", multiplicity), ("exploratory", EXPLORATORY_MULTIPLICITY)):
        members = [row for row in raw if row["confirmatory"] == (family == "confirmatory")]
        for row, p in zip(members, adjusted([np.nan if r["p_value"] is None else r["p_value"] for r in members],
                                            method)):  # type: ignore[arg-type]
            row.update(family=family, p_adjusted=optional_float(p))
    rows = [PolicyComparison(**row) for row in raw]

    warnings = [f"arm {name}: {len(ev.result.conformance.digest_mismatches)} audit input(s) claim another "
                "plan digest; their rows are left out" for name, ev in evidence.items()
                if ev.result.conformance.digest_mismatches]
    warnings += [f"declared comparison {b} -> {c} has no arm named {', '.join(x for x in (b, c) if x not in names)}"
                 for b, c in sorted(declared) if b not in names or c not in names]
    if plan.denominator_policy == "completed_only":
        warnings.append("denominator policy completed_only is OPTIMISTIC: episodes that did not complete "
                        "are left out of both arms")
    left_out = sum(r.unpaired_left_out for r in rows if r.scope == "all")
    if left_out:
        warnings.append(f"{left_out} episode(s) were counted in one arm only and are left out of the "
                        "paired comparisons (see asymmetries)")
    found = asymmetries(plan, evidence, pairs)
    questions = [ComparisonQuestion(about=a.scope, question=a.question) for a in found[:QUESTIONS_LIMIT]]
    if len(found) > QUESTIONS_LIMIT:
        questions.append(ComparisonQuestion(
            about="asymmetries", question=f"{len(found) - QUESTIONS_LIMIT} further cells show asymmetric "
            "evidence (listed in comparison.json): was either arm's evidence selected after seeing scores?"))
    if not declared:
        questions.append(ComparisonQuestion(
            about="plan", question="No comparison was declared in the plan: which comparison was intended "
            "before the scores were seen, and was it chosen after looking at these results?"))
    comparison = Comparison(
        plan_id=plan.plan_id, plan_digest=plan_digest(plan), baseline=baseline,
        denominator_policy=plan.denominator_policy, alpha=alpha, multiplicity=multiplicity,
        declared=bool(declared), arms=[_arm_model(plan, evidence[name]) for name in names],
        comparisons=rows, asymmetries=found, letters=_letters(rows, names, evidence, alpha, families),
        sequential=_sequential(plan, evidence, pairs, declared, alpha),
        headline=_headline(rows, bool(declared), alpha), warnings=warnings, reviewer_questions=questions,
        **({"created_at": created_at} if created_at else {}))
    return comparison.sealed()


def _letters(rows: list[PolicyComparison], names: list[str], evidence: dict[str, ArmEvidence],
             alpha: float, families: list[tuple[list[str], np.ndarray]]) -> list[LetterGroup]:
    """A compact letter display per scope of all evidence and each probe, for three arms or more."""
    if len(names) < 3:
        return []
    out = []
    for scope_names, codes in families[:2]:
        for i, scope in enumerate(scope_names):
            rates = []
            for name in names:
                arm = evidence[name]
                n = np.count_nonzero(arm.counted & (codes == i))
                rates.append(np.count_nonzero(arm.counted & arm.success & (codes == i)) / n if n else np.nan)
            different = {frozenset((r.baseline, r.candidate)) for r in rows if r.scope == scope
                         and r.p_adjusted is not None and r.p_adjusted <= alpha}
            out.append(LetterGroup(scope=scope, letters=compact_letters(names, rates, different)))
    return out
