"""The pre-score protocol plan and the run sheet flattened from it."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Callable, Literal

from pydantic import Field, ValidatorFunctionWrapHandler, WrapValidator, field_validator, model_validator
from typing_extensions import Self, TypedDict

from worldflux_nb.models.common import (
    INT64_MAX, INT64_MIN, Artifact, Digest, EpisodeIndex, Frozen, Level, MetadataValue, Seed, ShortText,
    Slug, empty_dict, empty_list, now_field, refuse_secret,
)
from worldflux_nb.models.contract import CustomEvalContract
from worldflux_nb.models.digest import canonical_json, sha256_bytes
from worldflux_nb.models.profile import EvalProfile
from worldflux_nb.models.registry import SeedMode

DenominatorPolicy = Literal["all_planned", "attempted", "completed_only"]
DENOMINATOR_POLICIES: tuple[DenominatorPolicy, ...] = ("all_planned", "attempted", "completed_only")
SeedSource = Literal["operator_supplied", "generated"]
# standard: whole suites at the benchmark's own trial count (the community protocol);
# sampled: tasks and levels drawn by the plan seed.
Protocol = Literal["standard", "sampled"]
PROTOCOLS: tuple[Protocol, ...] = ("sampled", "standard")


class ExcludedProbe(Frozen):
    probe_id: Slug
    reasons: list[ShortText] = Field(min_length=1)


class ExcludedAxis(Frozen):
    probe_id: Slug
    axis: Slug
    reason: ShortText


class AxisSelection(Frozen):
    axis: Slug
    levels: list[Level] = Field(min_length=1)


class SelectedProbe(Frozen):
    probe_id: Slug
    probe_version: Slug
    seed_mode: SeedMode
    # What the operator passes to the harness; per-episode seeds derive from it where applicable.
    run_seed: int | None = None
    tasks: list[Slug] = Field(min_length=1)
    axes: list[AxisSelection] = Field(min_length=1)
    # Profile and contract values every evidence row of this probe must repeat under `metadata`.
    pinned_metadata: dict[Slug, MetadataValue] = Field(default_factory=empty_dict)
    training_exposure: bool = False
    training_exposure_note: ShortText | None = None
    harness_formats: list[Slug] = Field(default_factory=empty_list)
    # The digest of the benchmark's task classification the variants came from (LIBERO-plus).
    classification_digest: Digest | None = None


class EpisodeRange(Frozen):
    """Episode indexes `start, start + 1, ..., start + count - 1` (LIBERO: initial states 0..n-1)."""

    start: EpisodeIndex = 0
    count: int = Field(gt=0, le=INT64_MAX)

    @model_validator(mode="after")
    def _fits(self) -> Self:
        if self.start + self.count - 1 > INT64_MAX:
            raise ValueError(f"the last episode index must be at most {INT64_MAX}")
        return self


# How a cell's seeds follow from the probe's run seed:
# - none: the harness records no seed for these episodes;
# - run_seed: every episode's seed is the run seed (harnesses that record one seed per run);
# - run_seed_plus_index: episode i is seeded run_seed + i (harnesses that derive `start_seed + i`).
SeedRuleKind = Literal["none", "run_seed", "run_seed_plus_index"]


class SeedRule(Frozen):
    """A cell's per-episode seeds stated as a rule over the run seed instead of a list."""

    rule: SeedRuleKind
    run_seed: Seed | None = None

    @model_validator(mode="after")
    def _seeded(self) -> Self:
        if (self.rule == "none") != (self.run_seed is None):
            raise ValueError("run_seed is required by the rules run_seed and run_seed_plus_index "
                             "and must be absent for the rule none")
        return self


NO_SEED = SeedRule(rule="none")

# Values a shared instance may be looked up by: not bool or float, which equal and hash like ints.
_KEY_TYPES = (int, str, type(None))
_MAX_SHARED = 4096
_ABSENT = object()


class SharedInstances:
    """A wrap validator that validates each distinct two-field value once and shares the frozen
    instance: a plan repeats a few episode ranges and seed rules over all its cells (at 100k cells,
    0.25 s and ~80 MB less). Anything else (a list, a field left out or added, a bool) is validated
    as it comes. `instance` serves the column-wise cell check (models.plan_cell_columns) too."""

    def __init__(self, first: str, second: str) -> None:
        self.first, self.second = first, second
        self._shared: dict[tuple[Any, Any], Any] = {}

    def __call__(self, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if type(value) is not dict or len(value) != 2:
            return handler(value)
        key = (value.get(self.first, _ABSENT), value.get(self.second, _ABSENT))  # both there: exactly these two
        if type(key[0]) not in _KEY_TYPES or type(key[1]) not in _KEY_TYPES:
            return handler(value)
        return self.instance(key, lambda: handler(value))

    def instance(self, key: tuple[Any, Any], validate: Callable[[], Any]) -> Any:
        """The instance shared for `key` (two values of _KEY_TYPES), validated on first sight."""
        instance = self._shared.get(key)
        if instance is None:
            instance = validate()
            if len(self._shared) < _MAX_SHARED:
                self._shared[key] = instance
        return instance


SHARED_RANGES = SharedInstances("start", "count")
SHARED_RULES = SharedInstances("rule", "run_seed")


class PlanCell(Frozen):
    """One probe x task x axis x level cell with its planned episodes.

    `episodes` is a range or, where no range states them, an explicit list of indexes; `seeds` is a
    rule or an explicit list parallel to the episodes. Read the planned episodes through
    `core.run_sheet.planned_episodes_frame` or `core.plan_keys`, never from these fields.
    """

    cell_id: Slug
    probe_id: Slug
    task_id: Slug
    axis: Slug
    level: Level
    episodes: Annotated[EpisodeRange | list[EpisodeIndex], WrapValidator(SHARED_RANGES)]
    seeds: Annotated[SeedRule | list[Seed | None], WrapValidator(SHARED_RULES)] = NO_SEED

    @property
    def episode_count(self) -> int:
        return self.episodes.count if isinstance(self.episodes, EpisodeRange) else len(self.episodes)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if isinstance(self.episodes, list):
            if not self.episodes:
                raise ValueError("episodes must list at least one episode index")
            if len(set(self.episodes)) != len(self.episodes):
                raise ValueError("episode indexes must be unique within a cell")
        if isinstance(self.seeds, list) and len(self.seeds) != self.episode_count:
            raise ValueError("an explicit seeds list must have one seed per episode")
        if isinstance(self.seeds, SeedRule) and not seeds_fit(self.episodes, self.seeds):
            raise ValueError("run_seed + episode index must fit in a signed 64-bit integer")
        return self


def seeds_fit(episodes: EpisodeRange | list[int], seeds: SeedRule) -> bool:
    """Whether the seeds a rule gives these episodes fit in a signed 64-bit integer (run_seed + the
    largest episode index, for run_seed_plus_index)."""
    if seeds.rule != "run_seed_plus_index":
        return True
    last = episodes.start + episodes.count - 1 if isinstance(episodes, EpisodeRange) else max(episodes)
    return INT64_MIN <= seeds.run_seed + last <= INT64_MAX  # type: ignore[operator]


def refuse_repeated_cells(cells: list[PlanCell]) -> None:
    """Episode indexes are unique within a cell, so unique cells make every planned episode unique."""
    ids: set[str] = set()
    places: set[tuple[str, str, str, str]] = set()
    for cell in cells:
        place = (cell.probe_id, cell.task_id, cell.axis, str(cell.level))
        if cell.cell_id in ids:
            raise ValueError(f"cell_id {cell.cell_id} appears more than once")
        if place in places:
            raise ValueError(f"two cells plan {'/'.join(place)}; a probe x task x axis x level is one cell")
        ids.add(cell.cell_id)
        places.add(place)


def _validated_cells(value: Any, handler: ValidatorFunctionWrapHandler) -> list[PlanCell]:
    """A plan file's cells checked column by column where they have its usual shape (at 100k cells,
    ~0.3 s less than pydantic's cell by cell); otherwise, and for every refusal, by pydantic."""
    from worldflux_nb.models.plan_cell_columns import cells_from_rows

    cells = cells_from_rows(value)
    if cells is None:
        cells = handler(value)
        refuse_repeated_cells(cells)
    return cells


class PowerTargets(Frozen):
    confidence: float = Field(default=0.95, gt=0, lt=1)
    max_ci_half_width: float = Field(default=0.15, gt=0, lt=0.5)
    min_episodes_per_cell: int = Field(default=10, gt=0)
    # Worst-case success rate assumed at plan time (0.5 gives the widest interval).
    planning_success_rate: float = Field(default=0.5, gt=0, lt=1)
    episodes_needed_for_target: int = Field(gt=0)


Multiplicity = Literal["holm", "fdr_bh"]
PairedTest = Literal["mcnemar_exact"]
SequentialMethod = Literal["mixture_sprt_mcnemar"]


class DeclaredComparison(Frozen):
    """A comparison declared before any score: the candidate policy against the baseline policy."""

    baseline: Slug
    candidate: Slug
    _no_secret_names = field_validator("baseline", "candidate")(refuse_secret)

    @model_validator(mode="after")
    def _two_policies(self) -> Self:
        if self.baseline == self.candidate:
            raise ValueError("a comparison needs two different policies")
        return self


class SequentialDesign(Frozen):
    """Looks at the evidence before the last episode, with the type-I error still at most alpha."""

    method: SequentialMethod = "mixture_sprt_mcnemar"
    max_episodes_per_arm: int = Field(gt=0)
    looks: int = Field(gt=0, le=100)
    look_episodes: list[int] = Field(min_length=1)


class ComparisonPower(Frozen):
    """Plan-time power of the paired test to detect `difference` from `baseline_rate`."""

    test: PairedTest = "mcnemar_exact"
    baseline_rate: float = Field(gt=0, lt=1)
    difference: float = Field(ge=-1, le=1)
    target_power: float = Field(gt=0, lt=1)
    episodes_per_cell_needed: int | None = Field(gt=0)
    power_per_cell: float = Field(ge=0, le=1)
    power_all_evidence: float = Field(ge=0, le=1)


class ComparisonDesign(Frozen):
    """What a comparison of policies on this plan will test, fixed before any score is seen."""

    declared: list[DeclaredComparison] = Field(default_factory=empty_list)
    primary_scopes: list[Slug] = Field(default_factory=lambda: ["all"], min_length=1)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    multiplicity: Multiplicity = "holm"
    power: ComparisonPower | None = None
    sequential: SequentialDesign | None = None


class ProtocolPlan(Artifact):
    KIND = "protocol_plan"
    DIGEST_FIELD = "plan_digest"

    plan_id: Slug
    profile: EvalProfile
    profile_digest: Digest
    registry_version: Slug
    registry_digest: Digest
    plan_seed: int
    seed_source: SeedSource
    protocol: Protocol = "sampled"
    episodes_per_cell: int = Field(gt=0)
    denominator_policy: DenominatorPolicy = "all_planned"
    # The infrastructure-failure rate declared before any score; a higher observed rate is a finding.
    infra_base_rate: float | None = Field(default=None, ge=0, lt=1)
    power_targets: PowerTargets
    selected_probes: list[SelectedProbe]
    excluded_probes: list[ExcludedProbe] = Field(default_factory=empty_list)
    excluded_axes: list[ExcludedAxis] = Field(default_factory=empty_list)
    cells: Annotated[list[PlanCell], WrapValidator(_validated_cells)]
    missing_evidence_questions: list[ShortText] = Field(default_factory=empty_list)
    custom_contracts: list[CustomEvalContract] = Field(default_factory=empty_list)
    notes: list[ShortText] = Field(default_factory=empty_list)
    # Left out of the JSON when absent, so plans without declared comparisons keep their digests.
    comparison_design: ComparisonDesign | None = Field(default=None, exclude_if=lambda v: v is None)
    created_at: str = now_field()
    plan_digest: Digest | None = None

    def to_json_dict(self) -> dict:
        # A plan that declares no base rate is written (and digested) as before the field existed.
        data = super().to_json_dict()
        if data.get("infra_base_rate") is None:
            data.pop("infra_base_rate", None)
        return data

    def digest_problem(self, source: dict | None = None) -> str | None:
        """The plan's own digest, then the embedded profile's: a re-sealed plan cannot hide a swap."""
        problem = super().digest_problem(source)
        if problem:
            return problem
        if self.profile.profile_digest != self.profile_digest:
            return (f"embedded profile.profile_digest {self.profile.profile_digest} does not match "
                    f"the plan's profile_digest {self.profile_digest}")
        profile = source.get("profile") if source is not None else None
        profile_problem = self.profile.digest_problem(profile if isinstance(profile, dict) else None)
        return f"embedded profile: {profile_problem}" if profile_problem else None

    @property
    def planned_episodes(self) -> int:
        return sum(c.episode_count for c in self.cells)

    def probe(self, probe_id: str) -> SelectedProbe:
        for probe in self.selected_probes:
            if probe.probe_id == probe_id:
                return probe
        raise KeyError(probe_id)


class RunSheetEpisode(TypedDict):
    cell_id: str
    probe_id: str
    task_id: str
    axis: str
    level: Level
    episode_index: int
    seed: int | None


_PLAIN = re.compile(r"[A-Za-z0-9_.:/+ -]*")
# Rows of run_sheet.json: one canonical row a line inside the pretty-printed header.
ROW_SEPARATOR = ",\n    "


def episode_row_parts(cell_id: str, probe_id: str, task_id: str, axis: str,
                      level: Level) -> tuple[str, str, str]:
    """A cell's canonical row text around its episode index and seed: head, middle and tail."""
    def dumps(value: object) -> str:
        if isinstance(value, str) and _PLAIN.fullmatch(value):
            return f'"{value}"'  # nothing to escape
        return json.dumps(value, ensure_ascii=False)

    return (f'{{"axis":{dumps(axis)},"cell_id":{dumps(cell_id)},"episode_index":',
            f',"level":{dumps(level)},"probe_id":{dumps(probe_id)},"seed":',
            f',"task_id":{dumps(task_id)}}}')


def episode_row_texts(episodes: list[RunSheetEpisode]) -> list[str]:
    """Each run-sheet episode as canonical JSON (sorted keys, no whitespace), built per cell once.

    The same bytes `canonical_json` gives each row, at a fraction of the cost for a million rows.
    """
    parts: dict[tuple, tuple[str, str, str]] = {}
    out = []
    for e in episodes:
        key = (e["cell_id"], e["probe_id"], e["task_id"], e["axis"], e["level"], type(e["level"]))
        part = parts.get(key)
        if part is None:
            part = parts[key] = episode_row_parts(*key[:5])
        index, seed = e["episode_index"], e["seed"]
        out.append(f"{part[0]}{index if type(index) is int else json.dumps(index)}{part[1]}"
                   f"{seed if type(seed) is int else json.dumps(seed)}{part[2]}")
    return out


class HarnessInvocation(Frozen):
    """How one harness runs one probe's planned episodes: a command line or a config file.

    `flags` are the harness's own option or config names the invocation uses, checked against the
    harness's code at `harness_commit`; `records` says where the harness writes each value the
    plan checks; `not_recorded` the pinned values it writes nowhere (importers report them once
    per probe as unverified).
    """

    probe_id: Slug
    harness: Slug
    harness_commit: ShortText
    kind: Literal["command", "config"]
    file_name: ShortText | None = None
    text: str = Field(min_length=1, max_length=5_000_000)
    run_with: ShortText | None = None
    flags: list[ShortText] = Field(default_factory=empty_list)
    episodes: int = Field(ge=0)
    records: dict[ShortText, ShortText] = Field(default_factory=empty_dict)
    not_recorded: list[ShortText] = Field(default_factory=empty_list)
    notes: list[ShortText] = Field(default_factory=empty_list)


class RunSheet(Artifact):
    """One row per planned episode, and per probe how each harness that can run it is told to.

    Sealed with `run_sheet_digest`; `core.run_sheet` builds and writes it column-wise.
    """

    KIND = "run_sheet"
    DIGEST_FIELD = "run_sheet_digest"

    plan_id: Slug
    plan_digest: Digest
    episodes: list[RunSheetEpisode]
    invocations: list[HarnessInvocation] = Field(default_factory=empty_list)
    instructions: list[ShortText] = Field(default_factory=empty_list)
    created_at: str = now_field()
    run_sheet_digest: Digest | None = None

    def canonical_bytes(self) -> bytes:
        """The canonical JSON the digest covers (everything but run_sheet_digest), built row-wise."""
        head = self.model_dump(mode="json", exclude={"episodes", "run_sheet_digest"})
        head["episodes"] = []
        rows = ",".join(episode_row_texts(self.episodes)).encode("utf-8")
        # Keys are sorted and strings escaped, so `"episodes":[]` occurs once, as the top-level key.
        return canonical_json(head).replace(b'"episodes":[]', b'"episodes":[' + rows + b"]", 1)

    def computed_digest(self) -> str:
        return sha256_bytes(self.canonical_bytes())
