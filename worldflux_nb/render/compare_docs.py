"""Documents for a comparison of policies: the comparison itself (comparison.md, the notebook display)
and the comparison brief for the reviewer."""

from __future__ import annotations

from worldflux_nb.core.statistics import percent
from worldflux_nb.models.comparison import Comparison, PolicyComparison
from worldflux_nb.models.plan import ComparisonDesign
from worldflux_nb.render.document import (
    Banner, BulletList, Document, Heading, KeyValues, Paragraph, Table, Tone,
)

COMPARISON_BANNER = ("LOCAL_PRIVATE comparison of policies on one frozen protocol plan, for internal "
                     "review and private reviewer handoff only. Not public-share-ready, not a "
                     "deployment decision.")
MAX_COMPARISON_ROWS = 200
MAX_ASYMMETRY_ROWS = 150
SCOPE_ORDER = {"all": 0, "probe": 1, "axis": 2, "cell": 3}


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:+.1f} pp"


def _p(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _tone(row: PolicyComparison, alpha: float) -> Tone | None:
    if row.p_adjusted is not None and row.p_adjusted <= alpha:
        return "ok" if (row.difference or 0) > 0 else "danger"
    return "info" if row.confirmatory else None


def _rows_table(rows: list[PolicyComparison], alpha: float, caption: str) -> Table:
    return Table(
        columns=["scope", "baseline", "candidate", "baseline s/n", "candidate s/n", "difference",
                 "interval", "test", "pairs", "discordant b/c", "p", "p adjusted", "P(better)", "family"],
        rows=[(r.scope, r.baseline, r.candidate, f"{r.baseline_successes}/{r.baseline_denominator}",
               f"{r.candidate_successes}/{r.candidate_denominator}", _signed(r.difference),
               f"{_signed(r.ci_low)} to {_signed(r.ci_high)}" if r.ci_low is not None else "—",
               r.test or "no test", r.pairs, f"{r.discordant_baseline_only}/{r.discordant_candidate_only}",
               _p(r.p_value), _p(r.p_adjusted),
               "—" if r.probability_of_improvement is None else f"{r.probability_of_improvement:.3f}",
               r.family.upper() if r.confirmatory else "exploratory") for r in rows],
        caption=caption, max_rows=MAX_COMPARISON_ROWS, row_tones=[_tone(r, alpha) for r in rows])


def _order(row: PolicyComparison) -> tuple[int, int]:
    return (0 if row.confirmatory else 1, SCOPE_ORDER[row.scope.split(":", 1)[0]])


def comparison_document(comparison: Comparison) -> Document:
    c = comparison
    rows = sorted(c.comparisons, key=_order)
    confirmatory = [r for r in rows if r.confirmatory]
    blocks: list = [
        Banner(COMPARISON_BANNER, "warning"),
        KeyValues([("plan", c.plan_id), ("plan digest", c.plan_digest), ("baseline", c.baseline),
                   ("arms", ", ".join(a.name for a in c.arms)),
                   ("denominator policy", c.denominator_policy + (" (OPTIMISTIC)" if c.denominator_policy
                                                                  == "completed_only" else "")),
                   ("alpha", c.alpha), ("confirmatory multiplicity", c.multiplicity),
                   ("exploratory multiplicity", "fdr_bh"),
                   ("declared before scores", c.declared), ("comparison digest", c.comparison_digest)]),
        Heading("Headline"), BulletList(c.headline, empty_text="No declared comparison could be run."),
        Paragraph("Paired scopes (the same planned episode counted in both arms) use the exact McNemar "
                  "test on the discordant pairs and Newcombe's hybrid score interval; unpaired scopes use "
                  "Boschloo's exact unconditional test and the Miettinen-Nurminen score interval. A planned "
                  "episode succeeds only if every conformant attempt succeeded, in each arm. P(better): "
                  "posterior probability that the candidate is better, uniform priors. Only comparisons the "
                  "plan declared are confirmatory; every other row is exploratory."),
        Heading("Arms"),
        Table(columns=["arm", "probes", "planned", "matched", "missing", "out of protocol", "re-runs",
                       "seed ≠", "metadata ≠", "infra", "successes", "denominator", "rate"],
              rows=[(a.name, a.probes, a.conformance.planned_episodes, a.conformance.matched,
                     a.conformance.missing, a.conformance.out_of_protocol, a.conformance.duplicates,
                     a.conformance.seed_mismatches, a.conformance.metadata_mismatches,
                     a.conformance.infra_failures, a.successes, a.denominator, percent(a.success_rate))
                    for a in c.arms]),
    ]
    if confirmatory:
        blocks += [Heading("Confirmatory comparisons"),
                   _rows_table(confirmatory, c.alpha, f"Declared in the plan; adjusted by {c.multiplicity}.")]
    blocks += [Heading("Exploratory comparisons"),
               _rows_table([r for r in rows if not r.confirmatory], c.alpha,
                           "Not declared before scores: exploratory, adjusted by Benjamini-Hochberg.")]
    if c.letters:
        arms = [a.name for a in c.arms]
        blocks += [Heading("Compact letter display"),
                   Table(columns=["scope"] + arms,
                         rows=[(g.scope, *(g.letters.get(a, "") for a in arms)) for g in c.letters],
                         caption=f"Arms sharing a letter were not found different at alpha {c.alpha}.")]
    if c.sequential:
        blocks.append(Heading("Sequential design"))
        for s in c.sequential:
            blocks += [Paragraph(f"{s.candidate} vs {s.baseline} ({s.method}, stop when the e-value reaches "
                                 f"{s.threshold:.0f}): {s.decision}."),
                       Table(columns=["look", "episodes per arm", "reached", "pairs", "discordant b/c",
                                      "e-value", "crossed"],
                             rows=[(k.look, k.episodes, k.reached, k.pairs,
                                    f"{k.discordant_baseline_only}/{k.discordant_candidate_only}",
                                    f"{k.e_value:.3g}", k.crossed) for k in s.looks])]
    blocks += [Heading("Asymmetric evidence"), _asymmetry_table(c),
               Heading("Warnings"), BulletList(c.warnings)]
    return Document(title=f"Policy comparison: {', '.join(a.name for a in c.arms)}", blocks=blocks)


def _asymmetry_table(c: Comparison) -> Table:
    return Table(columns=["kind", "scope", "baseline", "candidate", "baseline count", "candidate count"],
                 rows=[(a.kind, a.scope, a.baseline, a.candidate, a.baseline_count, a.candidate_count)
                       for a in c.asymmetries],
                 caption="Where one arm departs from the plan more than the other (largest first).",
                 max_rows=MAX_ASYMMETRY_ROWS, row_tones=["warning"] * len(c.asymmetries))


def comparison_brief_document(comparison: Comparison, comparison_markdown_ref: str | None = None) -> Document:
    """The reviewer's reading of a comparison: headline, asymmetries as questions, warnings."""
    c = comparison
    return Document(title="Comparison brief (private reviewer copy)", blocks=[
        Banner("NOT public-share-ready. LOCAL_PRIVATE reviewer brief for a comparison of policies; a "
               "structured discussion, never a pass/fail verdict.", "danger"),
        KeyValues([("comparison", comparison_markdown_ref or "comparison.json"),
                   ("comparison digest", c.comparison_digest), ("plan digest", c.plan_digest),
                   ("baseline", c.baseline), ("declared before scores", c.declared)]),
        Heading("Headline"), BulletList(c.headline, empty_text="No declared comparison could be run."),
        Heading("Questions for the operator"),
        BulletList([f"{q.about}: {q.question}" if not q.question.startswith(q.about) else q.question
                    for q in c.reviewer_questions], empty_text="No asymmetry between the arms was found."),
        Heading("Warnings"), BulletList(c.warnings),
    ])


def design_blocks(design: ComparisonDesign) -> list:
    """The plan's declared comparisons, as plan.md shows them (fixed before any score)."""
    items: list[tuple[str, object]] = [
        ("declared", ", ".join(f"{d.candidate} vs {d.baseline}" for d in design.declared) or "none"),
        ("primary scopes", ", ".join(design.primary_scopes)), ("alpha", design.alpha),
        ("confirmatory multiplicity", design.multiplicity),
        ("exploratory multiplicity", "fdr_bh (every comparison not declared here)")]
    if design.power is not None:
        p = design.power
        needed = p.episodes_per_cell_needed if p.episodes_per_cell_needed is not None else "more than 5000"
        items += [("paired test", p.test),
                  ("power", f"{needed} episodes per cell detect {p.difference:+.2f} from {p.baseline_rate:.2f} "
                            f"with power {p.target_power}; this plan: {p.power_per_cell:.2f} per cell, "
                            f"{p.power_all_evidence:.2f} over all evidence")]
    if design.sequential is not None:
        q = design.sequential
        items.append(("sequential design", f"{q.method}: {q.looks} looks at {q.look_episodes} episodes per "
                      f"arm (at most {q.max_episodes_per_arm}); stop when the e-value reaches {1 / design.alpha:.0f}"))
    return [Heading("Declared comparisons"),
            Paragraph("Declared before any score: only these comparisons, in these scopes, are confirmatory."),
            KeyValues(items)]
