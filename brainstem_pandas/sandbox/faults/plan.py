"""Which numbered request gets which fault: a keyed hash of ``(seed, number)`` against cumulative fractions.

Examples
--------
>>> thresholds({"429": 0.25, "503": 0.25})  # in the order of FAULT_KINDS, whatever the dict's
[(0.25, '503'), (0.5, '429')]
>>> thresholds({"500": 1.0})  # fractions summing to 1 fault every request
[(inf, '500')]
>>> uniform(0, 7) == uniform(0, 7), 0 <= uniform(0, 7) < 1
(True, True)
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from brainstem_pandas.sandbox.config import FAULT_KINDS


def active_faults(faults: dict[str, float]) -> dict[str, float]:
    """Keep the fault kinds with a positive fraction."""
    return {kind: float(rate) for kind, rate in faults.items() if float(rate) > 0}


def uniform(seed: int, number: int) -> float:
    """A uniform number in ``[0, 1)`` fixed by ``(seed, number)``.

    A keyed hash rather than a shared RNG: the draw depends only on the request
    number, so it needs no state beyond the counter.
    """
    digest = hashlib.blake2b(f"{seed}:{number}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def thresholds(faults: dict[str, float]) -> list[tuple[float, str]]:
    """Cumulative upper bounds per kind, in the fixed ``FAULT_KINDS`` order.

    The fixed order keeps the outcome independent of the dict's key order.
    """
    bounds: list[tuple[float, str]] = []
    total = 0.0
    for kind in FAULT_KINDS:
        if kind in faults:
            total += faults[kind]
            bounds.append((total, kind))
    if bounds and total >= 1.0 - 1e-9:
        # Fractions summing to 1 must fault every request despite rounding.
        bounds[-1] = (math.inf, bounds[-1][1])
    return bounds


class FaultPlan:
    """Numbers requests across all workers and decides each one's fault.

    Parameters
    ----------
    seed : int
        Seed mixed into every draw.
    faults : dict
        Positive fractions by fault kind.
    burst : int
        Length of the run of 429s one ``"429"`` draw starts.
    ctx : multiprocessing context
        Context the shared memory and lock come from.
    """

    def __init__(self, seed: int, faults: dict[str, float], burst: int, ctx: Any) -> None:
        self._seed = seed
        self._bounds = thresholds(faults)
        self._burst = max(1, int(burst))
        # [number of the next request, first number after the current burst]
        self._state = ctx.RawArray("q", 2)
        self._lock = ctx.Lock()

    def draw(self, number: int) -> str | None:
        """The fault kind request ``number`` gets, ignoring bursts."""
        u = uniform(self._seed, number)
        for bound, kind in self._bounds:
            if u < bound:
                return kind
        return None

    def next_fault(self) -> str | None:
        """Number the current request and return its fault kind, if any."""
        # One lock covers numbering and the burst so that a burst always
        # covers the requests numbered right after the one that started it.
        with self._lock:
            number = self._state[0]
            self._state[0] = number + 1
            if number < self._state[1]:
                return "429"
            kind = self.draw(number)
            if kind == "429":
                self._state[1] = number + self._burst
            return kind
