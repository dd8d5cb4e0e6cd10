"""LIBERO-plus's own task classification, read from the file the operator supplies.

The file is `libero/libero/benchmark/task_classification.json` of LIBERO-plus
(sylvestf/LIBERO-plus@4976dc30028e805ff8094b55501d532c48fec182): a JSON object mapping each suite
(`libero_spatial`, `libero_object`, `libero_goal`, `libero_10`) to a list of
`{"id", "name", "category", "difficulty_level"}`, where `id` is the variant's task index in the
suite plus one (the order of the suite's `libero_suite_task_map.py` entry, which LeRobot's
`--env.task_ids` and vla-eval's `task_id` both use), `category` one of seven perturbation
categories and `difficulty_level` 1-5 or null. The plan names a variant `<suite>/<id - 1>`, with
axis = category and level = difficulty level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from worldflux_nb.core.registry import (
    LIBERO_PLUS_CATEGORIES, LIBERO_PLUS_LEVELS, LIBERO_PLUS_UNRATED, LIBERO_SUITES,
)
from worldflux_nb.errors import InputError
from worldflux_nb.models.common import Level
from worldflux_nb.models.digest import digest_of

CLASSIFICATION_FILE = "libero/libero/benchmark/task_classification.json"


@dataclass(frozen=True)
class Variant:
    """One LIBERO-plus variant task as the benchmark classifies it."""

    suite: str
    index: int  # task index in the suite (the file's id - 1)
    name: str
    category: str
    axis: str
    level: Level

    @property
    def task_id(self) -> str:
        return f"{self.suite}/{self.index}"


@dataclass(frozen=True)
class Classification:
    """Every classified variant in file order, and the digest of the file's content."""

    variants: tuple[Variant, ...]
    digest: str

    def suites(self) -> list[str]:
        return list(dict.fromkeys(v.suite for v in self.variants))


def parse_classification(data: Any, source: str) -> Classification:
    """The variants of a task_classification.json object; anything else is refused naming the field."""
    if not isinstance(data, dict) or not data:
        raise InputError(source, None, "must be a JSON object mapping LIBERO suites to variant lists")
    variants: list[Variant] = []
    for suite, entries in data.items():
        if suite not in LIBERO_SUITES:
            raise InputError(source, suite, f"is not a LIBERO suite ({', '.join(LIBERO_SUITES)})")
        if not isinstance(entries, list) or not entries:
            raise InputError(source, suite, "must be a non-empty list of variants")
        seen: set[int] = set()
        for k, entry in enumerate(entries):
            variants.append(_variant(suite, entry, f"{suite}[{k}]", source, seen))
    return Classification(variants=tuple(variants), digest=digest_of(data))


def _variant(suite: str, entry: Any, where: str, source: str, seen: set[int]) -> Variant:
    if not isinstance(entry, dict):
        raise InputError(source, where, "must be an object with id, name, category, difficulty_level")
    missing = [key for key in ("id", "name", "category", "difficulty_level") if key not in entry]
    if missing:
        raise InputError(source, f"{where}.{missing[0]}", "is missing")
    ident, name, category, level = (entry["id"], entry["name"], entry["category"],
                                    entry["difficulty_level"])
    if isinstance(ident, bool) or not isinstance(ident, int) or ident < 1:
        raise InputError(source, f"{where}.id", "must be a positive integer (task index + 1)")
    if ident in seen:
        raise InputError(source, f"{where}.id", f"{ident} appears twice in {suite}")
    seen.add(ident)
    if not isinstance(name, str) or not name:
        raise InputError(source, f"{where}.name", "must be the variant's task name")
    if category not in LIBERO_PLUS_CATEGORIES:
        raise InputError(source, f"{where}.category",
                         f"{category!r} is not one of {', '.join(LIBERO_PLUS_CATEGORIES)}")
    if level is not None and level not in LIBERO_PLUS_LEVELS or isinstance(level, bool):
        raise InputError(source, f"{where}.difficulty_level", "must be 1-5 or null")
    return Variant(suite=suite, index=ident - 1, name=name, category=category,
                   axis=LIBERO_PLUS_CATEGORIES[category],
                   level=LIBERO_PLUS_UNRATED if level is None else level)
