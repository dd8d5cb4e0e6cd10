"""Plan-time guidance: how many episodes a cell needs for a target Wilson interval half-width."""

from __future__ import annotations

import numpy as np

from worldflux_nb.core.statistics import half_widths, wilson_interval, z_value

GUIDANCE_HALF_WIDTHS = (0.05, 0.10, 0.15, 0.20, 0.25)


def wilson_half_width(n: int | np.ndarray, p: float = 0.5,
                      confidence: float = 0.95) -> float | np.ndarray:
    """Half-width of the Wilson score interval at n episodes when the observed rate is p."""
    n = np.asarray(n, dtype=float)
    width = half_widths(*wilson_interval(p * n, n, confidence))
    return float(width) if width.ndim == 0 else width


def episodes_needed_for_target(half_width: float, p: float = 0.5, confidence: float = 0.95) -> int:
    """The fewest episodes from which on the Wilson half-width stays at or under `half_width`."""
    if not 0 < half_width < 0.5:
        raise ValueError("half_width must be between 0 and 0.5")
    if not 0 < p < 1:
        raise ValueError("p must be strictly between 0 and 1")
    z = z_value(confidence)
    # Twice the worst-case (p = 0.5) Wald size bounds the answer from above.
    n = np.arange(1, int(z * z / (2 * half_width * half_width)) + 1000)
    too_wide = np.flatnonzero(wilson_half_width(n, p, confidence) > half_width)
    # The first n after the last too-wide one: the width can wobble for small n at extreme p.
    return int(n[too_wide[-1]] + 1) if too_wide.size else 1


def power_guidance(p: float = 0.5, confidence: float = 0.95,
                   half_widths: tuple[float, ...] = GUIDANCE_HALF_WIDTHS) -> list[tuple[float, int]]:
    """(half-width, episodes needed) for several targets, for the rendered plan."""
    return [(w, episodes_needed_for_target(w, p, confidence)) for w in half_widths]
