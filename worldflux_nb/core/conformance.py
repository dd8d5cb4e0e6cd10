"""Evidence checked against the frozen plan: every row in exactly one category, every planned episode
matched or missing (DESIGN.md, "Conformance semantics").

Reads each audit input's evidence table as integer-coded columns (core.evidence_columns) and
the plan's episode keys (core.plan_keys, built from its cells on each check); the matching is numpy over those
columns, with Python work only per distinct place or metadata object, never per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from worldflux_nb.core.bulk import first_appearance, gc_paused, narrowest_int, object_array
from worldflux_nb.core.evidence_columns import columns_of
from worldflux_nb.core.conformance_frames import (
    ConformanceArrays, PinnedChecks, episodes_frame, rows_frame,
)
from worldflux_nb.core.episode_outcomes import episode_outcomes
from worldflux_nb.core.plan_keys import PlanKeys, plan_keys
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.packet import CATEGORIES, Conformance, DigestMismatch
from worldflux_nb.models.plan import ProtocolPlan

if TYPE_CHECKING:
    import pandas as pd

ABSENT = "\x00absent"  # a pinned key the row does not carry (distinct from any normalised value)


@dataclass(frozen=True)
class ConformanceResult:
    """The conformance counts, the outcome arrays, and the frames the packet, charts and explorer read.

    `rows` (built on first use): one row per evidence row of an accepted audit input, with its
    `category`, in input order. `episodes` (built on first use): one row per planned episode with
    `matched`, `status` (of the matched row), `attempts` (conformant rows), `attempt_failures` and
    `success` (true only if every conformant attempt succeeded). `accepted`: indexes of the audit
    inputs whose plan digest matched. `named_cells`: per row, the position in `plan.cells` of the
    cell its probe/task/axis/level names (out-of-protocol rows included), or -1.
    """

    conformance: Conformance
    arrays: ConformanceArrays = field(repr=False)
    accepted: tuple[int, ...]
    pinned_keys: tuple[str, ...] = field(default=())
    named_cells: np.ndarray | None = field(default=None, repr=False)

    @cached_property
    def rows(self) -> pd.DataFrame:
        return rows_frame(self.arrays)

    @cached_property
    def episodes(self) -> pd.DataFrame:
        return episodes_frame(self.arrays)

    def rows_at(self, positions: np.ndarray) -> pd.DataFrame:
        """The rows frame for these row positions only (without building the whole frame)."""
        return rows_frame(self.arrays, np.asarray(positions, dtype=np.int64))

    def rows_where(self, mask: np.ndarray) -> pd.DataFrame:
        """The rows frame for the rows where `mask` holds, with their row labels in the whole frame."""
        import pandas as pd

        positions = np.flatnonzero(mask)
        return self.rows_at(positions).set_axis(pd.Index(positions), axis=0)

    def present(self, name: str) -> np.ndarray:
        """Per row, whether the optional column `name` holds a value."""
        return self.arrays.ev.optional_present(name)

    def episodes_at(self, positions: np.ndarray) -> pd.DataFrame:
        """The episodes frame for these planned episodes only (without building the whole frame)."""
        return episodes_frame(self.arrays, np.asarray(positions, dtype=np.int64))

    def rows_in(self, category: str) -> pd.DataFrame:
        return self.rows_where(self.arrays.category == CATEGORIES.index(category))


def plan_digest(plan: ProtocolPlan) -> str:
    return plan.plan_digest or plan.computed_digest()


def normalise_value(value: Any) -> str:
    """One comparable text per metadata value, so 20, 20.0 and "20" agree and True is not 1."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    if value is None:
        return "null"
    return str(value).strip()


def pinned_by_key(plan: ProtocolPlan) -> dict[str, dict[str, str]]:
    """{metadata key: {probe id: normalised pinned value}} over the selected probes.

    A custom contract's pinned values are pinned on its probe even if the planner left one out.
    """
    pins: dict[str, dict[str, str]] = {}
    selected = {probe.probe_id for probe in plan.selected_probes}
    for contract in plan.custom_contracts:
        if contract.probe_id in selected:
            for key, value in contract.pinned_values.items():
                pins.setdefault(key, {})[contract.probe_id] = normalise_value(value)
    for probe in plan.selected_probes:
        for key, value in probe.pinned_metadata.items():
            pins.setdefault(key, {})[probe.probe_id] = normalise_value(value)
    return pins


def normalised_values(values: list[Any]) -> np.ndarray:
    """normalise_value over a column (ABSENT stays ABSENT), once per distinct value.

    A hash table holds True and 1 as the same key, so a column mixing booleans with numbers is
    normalised row by row instead (they must not compare equal).
    """
    types = set(map(type, values))
    if bool in types and types & {int, float}:
        return np.array([normalise_value(v) for v in values], dtype=object)
    try:
        codes, uniques = first_appearance(values)
    except TypeError:  # unhashable (a list in metadata): compare its text
        return np.array([normalise_value(v) if isinstance(v, (str, int, float, bool)) or v is None
                         else normalise_value(str(v)) for v in values], dtype=object)
    return object_array([normalise_value(u) for u in uniques])[codes]




def check_conformance(plan: ProtocolPlan, audit_inputs: Sequence[AuditInput],
                      keys: PlanKeys | None = None) -> ConformanceResult:
    """Digest check per audit input, then each row's category and each planned episode's outcome
    (`keys`: plan_keys(plan), if the caller built them, say while the audit inputs were read)."""
    with gc_paused():
        return _check_conformance(plan, audit_inputs, plan_keys(plan) if keys is None else keys)


def _check_conformance(plan: ProtocolPlan, audit_inputs: Sequence[AuditInput], keys: PlanKeys) -> ConformanceResult:
    expected = plan_digest(plan)
    mismatches = [
        DigestMismatch(probe_id=ai.probe_id, expected=expected, found=ai.plan_digest,
                       rows_rejected=len(ai.episodes))
        for ai in audit_inputs if ai.plan_digest != expected]
    accepted = tuple(i for i, ai in enumerate(audit_inputs) if ai.plan_digest == expected)
    pins = pinned_by_key(plan)
    ev = columns_of([audit_inputs[i].episodes for i in accepted])

    # Placed once per distinct (probe, task, axis, level); levels compare as text, as in the plan.
    places = ev.places
    place_fields = [object_array([place[i] for place in places]) for i in range(4)]
    named_cell = np.array([keys.places.get((p, t, a, str(level)), -1) for p, t, a, level in places]
                          + [-1], dtype=np.int32)[ev.place]
    planned_ix = keys.positions(named_cell, ev.episode_index)
    in_plan = planned_ix >= 0
    # In place where it can be: at ten million rows every temporary array is 10-80 MB.
    take = np.maximum(planned_ix, 0)
    planned_na = keys.seed_missing[take]
    planned_na |= ~in_plan
    seed_bad = keys.seed[take] != ev.seed
    del take
    seed_bad &= in_plan
    seed_bad &= ~ev.seed_missing
    seed_bad &= ~planned_na

    probe_of_place, probes = first_appearance(place_fields[0].tolist())
    # The (probe x metadata object) tables are read at [probe of the row's place, metadata code].
    probe_of_place = np.append(probe_of_place, 0).astype(narrowest_int(len(probes)))
    probe_of_row = probe_of_place[ev.place]
    pins_checked = pinned_metadata(pins, list(probes), ev.metadatas)
    meta_bad = pins_checked.any_differs[probe_of_row, ev.metadata] & in_plan & ~seed_bad
    conformant = in_plan & ~seed_bad & ~meta_bad
    size = len(keys)
    conformant_ix = planned_ix[conformant]
    attempts = episode_counts(conformant_ix, size)
    # Rows are already in evidence order; the first conformant row of a planned episode is matched.
    attempt = attempt_numbers(planned_ix, conformant, attempts)
    matched = conformant & (attempt == 0)
    category = np.full(len(ev), CATEGORIES.index("duplicate"), dtype=np.int8)
    category[matched] = CATEGORIES.index("matched")
    category[meta_bad] = CATEGORIES.index("metadata_mismatch")
    category[seed_bad] = CATEGORIES.index("seed_mismatch")
    category[~in_plan] = CATEGORIES.index("out_of_protocol")
    row_success = np.array([s == "completed" for s in ev.statuses] + [False])[ev.status]
    row_success &= ev.success == 1

    attempt_successes = episode_counts(conformant_ix[row_success[conformant]], size)
    first = np.full(size, -1, dtype=np.int32)
    first[planned_ix[matched]] = np.flatnonzero(matched)
    conformant_status = ev.status[conformant]

    def attempts_with(*statuses: str) -> np.ndarray:
        """Per planned episode, its conformant attempts with one of these statuses."""
        wanted = np.array([s in statuses for s in ev.statuses] + [False], dtype=bool)
        return episode_counts(conformant_ix[wanted[conformant_status]], size)

    infra, pending = attempts_with("infra_failure"), attempts_with("pending")
    # Every attempt has one of the four statuses (the evidence table refuses any other): the attempts
    # that completed or timed out are the rest, without another count over nearly every row.
    completed = narrowed(attempts - infra - pending)

    arrays = ConformanceArrays(
        accepted=accepted, sizes=np.array([len(audit_inputs[i].episodes) for i in accepted], dtype=np.int64), ev=ev,
        keys=keys, place_fields=place_fields, planned_ix=planned_ix, category=category, attempt=attempt, conformant=conformant,
        matched=matched, row_success=row_success,
        seed_unverified=in_plan & ~planned_na & ev.seed_missing & conformant,
        metadata_unverified=pins_checked.any_absent[probe_of_row, ev.metadata] & conformant,
        probe_of_place=probe_of_place,
        pins=pins_checked,
        attempts=attempts, attempt_successes=attempt_successes, completed=completed,
        infra=infra, pending=pending, first=first)

    count = dict(zip(CATEGORIES, np.bincount(category, minlength=len(CATEGORIES)).tolist()))
    outcomes = episode_outcomes(arrays)  # infra and pending from every attempt: order-free
    conformance = Conformance(
        planned_episodes=size,
        matched=count["matched"],
        missing=size - count["matched"],
        out_of_protocol=count["out_of_protocol"],
        duplicates=count["duplicate"],
        seed_mismatches=count["seed_mismatch"],
        metadata_mismatches=count["metadata_mismatch"],
        infra_failures=int(np.count_nonzero(outcomes.any_infra)),
        pending=int(np.count_nonzero(outcomes.pending_only)),
        unverified_seeds=int(np.count_nonzero(arrays.seed_unverified)),
        unverified_metadata=int(np.count_nonzero(arrays.metadata_unverified)),
        evidence_rows=len(ev),
        digest_mismatches=mismatches,
    )
    return ConformanceResult(conformance=conformance, arrays=arrays, accepted=accepted,
                             pinned_keys=tuple(pins), named_cells=named_cell)


def pinned_metadata(pins: dict[str, dict[str, str]], probes: list[Any],
                    metadatas: list[dict[str, Any]]) -> PinnedChecks:
    """Each pinned key compared once per distinct metadata object and probe (see PinnedChecks)."""
    values: dict[str, np.ndarray] = {}
    differs: dict[str, np.ndarray] = {}
    any_differs = np.zeros((len(probes), len(metadatas)), dtype=bool)
    any_absent = np.zeros((len(probes), len(metadatas)), dtype=bool)
    for key, by_probe in pins.items():
        per_object = normalised_values([m.get(key, ABSENT) for m in metadatas])
        absent = per_object == ABSENT
        pinned = [by_probe.get(probe) for probe in probes]
        applies = np.array([pin is not None for pin in pinned], dtype=bool)[:, None]
        # An absent key never differs; it leaves the row's metadata unverified instead.
        table = np.array([[value != pin for value in per_object] for pin in pinned],
                         dtype=bool).reshape(len(pinned), len(per_object)) & applies & ~absent
        values[key], differs[key] = per_object, table
        any_differs |= table
        any_absent |= applies & absent
    return PinnedChecks(values, differs, any_differs, any_absent)


def episode_counts(positions: np.ndarray, size: int) -> np.ndarray:
    """How often each of `size` planned episodes occurs in `positions`, in the narrowest integer
    type that holds the largest count (int8 for a few attempts each: 10 MB at ten million planned
    episodes instead of 40 or 80). A few positions (infra failures, pending attempts) are counted
    by sorting them, without bincount's array of `size` int64s."""
    if len(positions) * SPARSE_COUNTS < size:
        if len(positions) and positions.min() < 0:
            raise ValueError("positions must be non-negative")
        found, counts = np.unique(positions, return_counts=True)
        out = np.zeros(size, dtype=narrowest_int(int(counts.max(initial=0))))
        out[found] = counts
        return out
    return narrowed(np.bincount(positions, minlength=size))


# episode_counts sorts its positions when they are fewer than one in this many planned episodes.
SPARSE_COUNTS = 16


def narrowed(counts: np.ndarray) -> np.ndarray:
    """Non-negative counts in the narrowest integer type that holds the largest."""
    return counts.astype(narrowest_int(int(counts.max(initial=0))), copy=False)


def attempt_numbers(planned_ix: np.ndarray, conformant: np.ndarray, attempts: np.ndarray) -> np.ndarray:
    """Per row, how many conformant rows of the same planned episode came before it (0 elsewhere);
    `attempts`: conformant rows per planned episode."""
    attempt = np.zeros(len(planned_ix), dtype=narrowest_int(int(attempts.max(initial=0))))
    rerun = attempts > 1
    if not rerun.any():
        return attempt
    # Only re-run episodes need ordering; every other conformant row is attempt 0.
    where = np.flatnonzero(conformant & rerun[np.maximum(planned_ix, 0)])
    order = np.argsort(planned_ix[where], kind="stable")  # stable: evidence order within an episode
    episodes = planned_ix[where][order]
    starts = np.flatnonzero(np.r_[True, episodes[1:] != episodes[:-1]]) if len(episodes) else episodes
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(episodes)]))
    attempt[where[order]] = np.arange(len(episodes)) - run_start
    return attempt
