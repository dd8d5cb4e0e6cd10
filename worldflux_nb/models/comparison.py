"""A comparison of policies on one frozen plan: each arm's evidence checked against the same plan."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from worldflux_nb.models.common import (
    Artifact, Digest, Frozen, ShortText, Slug, empty_dict, empty_list, now_field, refuse_secret,
)
from worldflux_nb.models.packet import Conformance
from worldflux_nb.models.plan import DenominatorPolicy, Multiplicity, SequentialMethod

# DESIGN's three, and the Miettinen-Nurminen score test for unpaired tables too large for Boschloo.
ComparisonTest = Literal["mcnemar_exact", "barnard", "boschloo", "score"]
AsymmetryKind = Literal["re_run", "missing", "out_of_protocol", "seed_mismatch", "metadata_mismatch",
                        "infra_failure", "unverified"]
ASYMMETRY_KINDS: tuple[AsymmetryKind, ...] = ("re_run", "missing", "out_of_protocol", "seed_mismatch",
                                              "metadata_mismatch", "infra_failure", "unverified")


class Arm(Frozen):
    """One policy's evidence: the audit inputs by probe, and how they conform to the plan."""

    name: Slug
    probes: list[Slug]
    _no_secret_name = field_validator("name")(refuse_secret)
    input_digests: dict[Slug, list[Digest]] = Field(default_factory=empty_dict)
    conformance: Conformance
    successes: int = Field(ge=0)
    denominator: int = Field(ge=0)
    success_rate: float | None


class PolicyComparison(Frozen):
    """Candidate against baseline in one scope (`all`, `probe:P`, `axis:P/A`, `cell:C`)."""

    scope: Slug
    baseline: Slug
    candidate: Slug
    baseline_successes: int = Field(ge=0)
    baseline_denominator: int = Field(ge=0)
    candidate_successes: int = Field(ge=0)
    candidate_denominator: int = Field(ge=0)
    difference: float | None  # candidate rate - baseline rate
    ci_low: float | None
    ci_high: float | None
    paired: bool
    pairs: int = Field(ge=0)
    discordant_baseline_only: int = Field(ge=0)
    discordant_candidate_only: int = Field(ge=0)
    # Episodes counted in one arm's denominator only: left out of a paired comparison.
    unpaired_left_out: int = Field(default=0, ge=0)
    test: ComparisonTest | None
    p_value: float | None
    p_adjusted: float | None
    confirmatory: bool
    family: Literal["confirmatory", "exploratory"]
    probability_of_improvement: float | None


class Asymmetry(Frozen):
    """Where one arm's evidence departs from the plan more than the other's, in one cell (or, for
    out-of-protocol rows that name no planned cell, in one probe)."""

    kind: AsymmetryKind
    scope: Slug  # cell:<cell_id>, or probe:<probe_id>
    baseline: Slug
    candidate: Slug
    baseline_count: int = Field(ge=0)
    candidate_count: int = Field(ge=0)
    question: ShortText


class LetterGroup(Frozen):
    """A compact letter display in one scope: arms sharing a letter were not found different."""

    scope: Slug
    letters: dict[Slug, str]


class SequentialLook(Frozen):
    look: int = Field(gt=0)
    episodes: int = Field(gt=0)
    reached: bool
    pairs: int = Field(ge=0)
    discordant_baseline_only: int = Field(ge=0)
    discordant_candidate_only: int = Field(ge=0)
    e_value: float = Field(ge=0)
    crossed: bool


class SequentialResult(Frozen):
    """The plan's sequential design applied to one declared comparison over all evidence."""

    method: SequentialMethod
    baseline: Slug
    candidate: Slug
    threshold: float = Field(gt=0)  # 1 / alpha
    looks: list[SequentialLook]
    stopped_at_look: int | None
    decision: ShortText


class ComparisonQuestion(Frozen):
    about: ShortText
    question: ShortText


class Comparison(Artifact):
    KIND = "comparison"
    DIGEST_FIELD = "comparison_digest"

    plan_id: Slug
    plan_digest: Digest
    baseline: Slug
    denominator_policy: DenominatorPolicy
    alpha: float = Field(gt=0, lt=1)
    multiplicity: Multiplicity
    declared: bool  # whether the plan declared any comparison before scores were seen
    arms: list[Arm] = Field(min_length=2)
    comparisons: list[PolicyComparison]
    asymmetries: list[Asymmetry] = Field(default_factory=empty_list)
    letters: list[LetterGroup] = Field(default_factory=empty_list)
    sequential: list[SequentialResult] = Field(default_factory=empty_list)
    headline: list[ShortText] = Field(default_factory=empty_list)
    warnings: list[ShortText] = Field(default_factory=empty_list)
    reviewer_questions: list[ComparisonQuestion] = Field(default_factory=empty_list)
    public_share_ready: Literal[False] = False
    created_at: str = now_field()
    comparison_digest: Digest | None = None
