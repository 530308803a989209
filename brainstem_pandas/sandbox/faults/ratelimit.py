"""The rate limiter: a fixed window per client in a hash table shared by all workers.

Examples
--------
>>> import multiprocessing
>>> limiter = RateLimiter(2, 60.0, multiprocessing.get_context("fork"), slots=16)
>>> [limiter.hit("token A", 1000.0).allowed for _ in range(3)], limiter.hit("token B", 1000.0).allowed
([True, True, False], True)
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from brainstem_pandas.sandbox.faults.responses import Headers

#: Slots of the shared rate-limit table (one per concurrently seen client).
RATE_SLOTS = 4096

# Slots probed after a client's home slot before a collision evicts someone.
_PROBES = 8


@dataclass(frozen=True)
class Quota:
    """Outcome of counting one request against its client's window."""

    limit: int
    count: int
    window_end: float
    now: float

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    @property
    def retry_after(self) -> int:
        """Whole seconds until the window resets, at least 1."""
        return max(1, math.ceil(self.window_end - self.now))

    def headers(self) -> Headers:
        """The ``X-RateLimit-*`` headers every limited response carries."""
        return [
            ("X-RateLimit-Limit", str(self.limit)),
            ("X-RateLimit-Remaining", str(max(0, self.limit - self.count))),
            ("X-RateLimit-Reset", str(math.ceil(self.window_end))),
        ]


def client_identity(environ: dict) -> str:
    """Who a request counts against: its credentials, else its address."""
    return environ.get("HTTP_AUTHORIZATION") or environ.get("REMOTE_ADDR", "")


def client_key(identity: str) -> int:
    """A positive 63-bit key for ``identity`` (0 marks an empty slot)."""
    digest = hashlib.blake2b(identity.encode("utf-8", "surrogateescape"), digest_size=8)
    return (int.from_bytes(digest.digest(), "big") >> 1) or 1


class RateLimiter:
    """Fixed-window request counts per client, shared by all workers.

    Each client's window starts with its first request after the previous
    window ended. Clients live in an open-addressed table of ``slots``
    entries; when all probed slots hold other clients' live windows the home
    slot is taken over, which only ever makes the limit more lenient.

    Parameters
    ----------
    limit : int
        Requests allowed per window.
    window : float
        Window length in seconds.
    ctx : multiprocessing context
        Context the shared memory and lock come from.
    slots : int
        Size of the client table.
    """

    def __init__(self, limit: int, window: float, ctx: Any, slots: int = RATE_SLOTS) -> None:
        self._limit = int(limit)
        self._window = float(window)
        self._slots = slots
        self._keys = ctx.RawArray("q", slots)
        self._ends = ctx.RawArray("d", slots)
        self._counts = ctx.RawArray("q", slots)
        self._lock = ctx.Lock()

    def _slot_for(self, key: int, now: float) -> int:
        """Slot holding ``key``, else a free or expired one, else the home slot."""
        home = key % self._slots
        spare = -1
        for i in range(_PROBES):
            slot = (home + i) % self._slots
            if self._keys[slot] == key:
                return slot
            if spare < 0 and (self._keys[slot] == 0 or self._ends[slot] <= now):
                spare = slot
        return home if spare < 0 else spare

    def hit(self, identity: str, now: float) -> Quota:
        """Count one request by ``identity`` at epoch time ``now``."""
        key = client_key(identity)
        with self._lock:
            slot = self._slot_for(key, now)
            if self._keys[slot] != key or self._ends[slot] <= now:
                self._keys[slot] = key
                self._ends[slot] = now + self._window
                self._counts[slot] = 0
            self._counts[slot] += 1
            return Quota(self._limit, self._counts[slot], self._ends[slot], now)
