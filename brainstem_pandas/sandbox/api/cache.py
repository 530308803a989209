"""A per-process cache of rendered GET answers, dropped by any write.

Django + DRF spend most of a list request in Python (prefetching, serialising); on
a small machine that makes the sandbox's CPU, not the client, the bottleneck of
every read benchmark. Production APIs put a cache in front of such work; this is
the sandbox's: answers are kept per user and full URL, and every write anywhere
bumps a *generation* number stored in the database, which empties all caches of
all worker processes at their next request. Reads therefore never see stale data.
Turn it off with the ``cache`` start option (``--no-cache``) to measure raw cost.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.db import connection, models
from django.db.models.signals import m2m_changed, post_delete, post_save

MAX_BYTES = 128 * 2**20
APP_LABEL = "api"
# Rows that change on reads (token use, device polling) are not data.
_NOT_DATA = {"Token", "DeviceSession", "Generation"}


class Generation(models.Model):
    """One row holding the data generation: bumped by every write."""

    value = models.BigIntegerField(default=0)

    class Meta:
        app_label = APP_LABEL


def current() -> int:
    """The data generation now (0 before any write)."""
    with connection.cursor() as cur:
        cur.execute(f'SELECT value FROM "{Generation._meta.db_table}" WHERE id = 1')
        row = cur.fetchone()
    return row[0] if row else 0


def bump(sender: Any = None, **_: Any) -> None:
    """Mark the data as changed (connected to every save, delete and m2m change)."""
    meta = getattr(sender, "_meta", None)
    if sender is None or meta is None or meta.app_label != APP_LABEL or sender.__name__ in _NOT_DATA:
        return
    with connection.cursor() as cur:
        table = Generation._meta.db_table
        cur.execute(f'UPDATE "{table}" SET value = value + 1 WHERE id = 1')
        if cur.rowcount == 0:
            cur.execute(f'INSERT INTO "{table}" (id, value) VALUES (1, 1)')


class PageCache:
    """Rendered answers by key, bounded in bytes, valid for one generation."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, tuple[bytes, str]] = OrderedDict()
        self._size = 0
        self._generation = -1
        self._lock = threading.Lock()

    def get(self, key: tuple, generation: int) -> tuple[bytes, str] | None:
        with self._lock:
            if generation != self._generation:
                self._items.clear()
                self._size, self._generation = 0, generation
                return None
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: tuple, generation: int, body: bytes, content_type: str) -> None:
        with self._lock:
            if generation != self._generation or len(body) > self.max_bytes // 4:
                return
            self._items[key] = (body, content_type)
            self._size += len(body)
            while self._size > self.max_bytes:
                _, (old, _) = self._items.popitem(last=False)
                self._size -= len(old)


PAGES = PageCache()


class CountCache:
    """List totals by key, valid for one generation (a few thousand at most)."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._items: dict[tuple, int] = {}
        self._generation = -1
        self._lock = threading.Lock()

    def get(self, key: tuple, generation: int) -> int | None:
        with self._lock:
            if generation != self._generation:
                self._items.clear()
                self._generation = generation
            return self._items.get(key)

    def put(self, key: tuple, generation: int, count: int) -> None:
        with self._lock:
            if generation == self._generation and len(self._items) < self.limit:
                self._items[key] = count


COUNTS = CountCache()


def enabled() -> bool:
    """True unless the sandbox was started with the cache off."""
    return settings.CONFIG.cache


for _signal in (post_save, post_delete, m2m_changed):
    _signal.connect(bump, dispatch_uid=f"bsp-generation-{_signal}")
