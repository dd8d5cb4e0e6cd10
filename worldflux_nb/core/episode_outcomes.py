"""Each planned episode's outcome from all its conformant attempts, whatever their order.

Which row is "matched" follows file order; nothing counted from here does (DESIGN.md: every count
is the same under any order of rows and of audit inputs). An episode with a completed or timed-out
attempt is scored; one whose only attempts are infrastructure failures is an infrastructure failure;
one whose only attempts are pending is pending.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from worldflux_nb.core.conformance_frames import ConformanceArrays, episode_success


@dataclass(frozen=True)
class EpisodeOutcomes:
    """Per planned episode (plan order): conformant attempts by status, and the order-free reading."""

    attempts: np.ndarray
    successes: np.ndarray
    completed: np.ndarray  # completed or timed-out attempts
    infra: np.ndarray
    pending: np.ndarray

    @property
    def matched(self) -> np.ndarray:
        return self.attempts > 0

    @property
    def success(self) -> np.ndarray:
        return episode_success(self.attempts, self.successes)

    @property
    def scored(self) -> np.ndarray:
        return self.completed > 0

    @property
    def any_infra(self) -> np.ndarray:
        """An infrastructure failure among the attempts (the conformance count of DESIGN.md)."""
        return self.infra > 0

    @property
    def infra_only(self) -> np.ndarray:
        """Left out of the `attempted` denominator: no attempt got as far as an outcome."""
        return (self.infra > 0) & (self.completed == 0)

    @property
    def pending_only(self) -> np.ndarray:
        return (self.pending > 0) & (self.completed == 0) & (self.infra == 0)


def status_mask(a: ConformanceArrays, *names: str) -> np.ndarray:
    """Per evidence row: its status is one of `names`."""
    return np.array([s in names for s in a.ev.statuses] + [False], dtype=bool)[a.ev.status]


def episode_outcomes(a: ConformanceArrays) -> EpisodeOutcomes:
    """Each planned episode's attempts by status, as conformance counted them over every conformant
    row (order-free; counted once, read by the packet, the detectors and the comparisons)."""
    return EpisodeOutcomes(attempts=a.attempts, successes=a.attempt_successes, completed=a.completed,
                           infra=a.infra, pending=a.pending)
