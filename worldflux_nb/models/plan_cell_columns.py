"""A plan's cells checked a column at a time, in the shape plan files have: every cell an object
with its seven fields (seeds may be left out), a range of episodes and a seed rule.

Pydantic checks cells one by one, ~5 µs each with the shared ranges and rules (0.6 s for a plan of
100k cells, paid by every command that reads the plan). Here each field's values are gathered once,
their types and texts checked in bulk, each distinct range and rule validated once, and the cells
built as pydantic would build them. Whatever this does not accept as certainly valid, it leaves to
pydantic (None), so every refusal reads as pydantic words it.
"""

from __future__ import annotations

from typing import Any

from worldflux_nb.models.common import shared_fields_set
from worldflux_nb.models.plan import (
    NO_SEED, SHARED_RANGES, SHARED_RULES, EpisodeRange, PlanCell, SeedRule, SharedInstances, seeds_fit,
)

FIELDS = tuple(PlanCell.model_fields)
_REQUIRED = tuple(name for name in FIELDS if name != "seeds")
_SLUG_MAX, _LEVEL_MAX = 128, 64  # common.Slug, common.Level
_LEFT_OUT = object()  # a cell without `seeds` (the rule none, not among its fields set)
_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_SLUG_BYTES = _ALNUM + b"_.:/+-"  # common.Slug: an ASCII letter or digit, then these
# Letters and digits to `a`, a slug's other characters to `.`, every other byte as it is.
_SLUG_CLASSES = bytes.maketrans(_SLUG_BYTES, b"a" * len(_ALNUM) + b"." * (len(_SLUG_BYTES) - len(_ALNUM)))


def cells_from_rows(rows: Any) -> list[PlanCell] | None:
    """`rows` as PlanCells, where every row certainly validates and no two cells repeat; else None."""
    if type(rows) is not list or not rows or set(map(type, rows)) != {dict}:
        return None
    try:
        columns = {name: [row[name] for row in rows] for name in _REQUIRED}
    except KeyError:
        return None
    seeds = [row.get("seeds", _LEFT_OUT) for row in rows]
    given = len(rows) - seeds.count(_LEFT_OUT)
    if sum(map(len, rows)) != len(_REQUIRED) * len(rows) + given:
        return None  # a field not in PlanCell
    distinct_ids = _slugs(columns["cell_id"])
    if distinct_ids is None or any(_slugs(columns[name]) is None for name in ("probe_id", "task_id", "axis")):
        return None
    if not _levels(columns["level"]):
        return None
    ranges = _ranges(columns["episodes"])
    rules = _rules(seeds, given)
    if ranges is None or rules is None or not _seeds_fit(ranges, rules):
        return None
    places = set(zip(columns["probe_id"], columns["task_id"], columns["axis"], map(str, columns["level"])))
    if len(distinct_ids) != len(rows) or len(places) != len(rows):
        return None  # refuse_repeated_cells names the repeat
    columns["episodes"], columns["seeds"] = ranges, rules
    return _built(columns, seeds, given)


def _slugs(values: list[Any]) -> set[str] | None:
    """The distinct values if each is a slug pydantic keeps as it is (no whitespace to strip), else None."""
    if set(map(type, values)) != {str}:
        return None
    distinct = set(values)
    joined = "\n".join(distinct)
    if not joined.isascii() or joined.count("\n") != len(distinct) - 1 or max(map(len, distinct)) > _SLUG_MAX:
        return None
    text = joined.encode("ascii")
    if text.translate(None, _SLUG_BYTES + b"\n"):
        return None  # a character no slug has
    classes = (b"\n" + text + b"\n").translate(_SLUG_CLASSES)
    return None if b"\n." in classes or b"\n\n" in classes else distinct  # empty, or not begun by a letter or digit


def _levels(values: list[Any]) -> bool:
    """Every level an int, or text of 1 to 64 characters (common.Level)."""
    kinds = set(map(type, values))
    if not kinds <= {int, str}:
        return False  # a bool or float would hash like an int below
    return str not in kinds or all(0 < len(level) <= _LEVEL_MAX for level in set(values) if type(level) is str)


def _ranges(values: list[Any]) -> list[EpisodeRange] | None:
    """Each cell's episodes as the shared EpisodeRange, if every one is `{"start": int, "count": int}`."""
    return _shared(values, SHARED_RANGES, EpisodeRange, ({int}, {int}))


def _rules(values: list[Any], given: int) -> list[SeedRule] | None:
    """Each cell's seeds as the shared SeedRule, if every one is left out (`given` are not) or
    `{"rule": str, "run_seed": int | None}`."""
    if not given:
        return [NO_SEED] * len(values)
    stated = values if given == len(values) else [value for value in values if value is not _LEFT_OUT]
    rules = _shared(stated, SHARED_RULES, SeedRule, ({str}, {int, type(None)}))
    if rules is None or given == len(values):
        return rules
    in_order = iter(rules)
    return [NO_SEED if value is _LEFT_OUT else next(in_order) for value in values]


def _shared(values: list[Any], shared: SharedInstances, model: Any, types: tuple[set[type], set[type]]) -> list[Any] | None:
    """Per value, an object of exactly `shared`'s two fields, the instance of `model` shared for it
    (validated once per distinct value); None if a value has another shape, a field another type
    (checked on every value: a bool would hash like an int), or fails validation."""
    if set(map(type, values)) != {dict} or sum(map(len, values)) != 2 * len(values):
        return None
    names = (shared.first, shared.second)
    try:
        fields = [[value[name] for value in values] for name in names]
    except KeyError:
        return None
    if any(not set(map(type, column)) <= allowed for column, allowed in zip(fields, types)):
        return None
    keys = list(zip(*fields))
    instances: dict[tuple[Any, Any], Any] = {}
    for key in set(keys):
        try:
            instances[key] = shared.instance(key, lambda key=key: model.model_validate(dict(zip(names, key))))
        except ValueError:  # pydantic's ValidationError is one
            return None
    return list(map(instances.__getitem__, keys))


def _seeds_fit(ranges: list[EpisodeRange], rules: list[SeedRule]) -> bool:
    """PlanCell's check that the seeds fit in int64, once per distinct range and rule."""
    return all(seeds_fit(*pair) for pair in {(id(r), id(s)): (r, s) for r, s in zip(ranges, rules)}.values())


def _built(columns: dict[str, list[Any]], seeds: list[Any], given: int) -> list[PlanCell]:
    """The cells as pydantic builds them: fields in declared order, the fields given as the fields set."""
    every, without_seeds = shared_fields_set(FIELDS), shared_fields_set(_REQUIRED)
    fields_sets = [every] * len(seeds) if given == len(seeds) else \
        [without_seeds if value is _LEFT_OUT else every for value in seeds]
    rows = [dict(zip(FIELDS, values)) for values in zip(*(columns[name] for name in FIELDS))]
    return PlanCell.trusted_rows(rows, fields_sets)
