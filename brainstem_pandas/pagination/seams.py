"""The bookkeeping of one walk, on plain lists of record ids: seams, duplicates and figures.

Nothing here sends a request or looks inside a record: a walk hands over the ids
of each page in page order, and gets back which records are new. That keeps the
proof of completeness testable with lists such as ``[1, 2, 3]``.

Offset pages overlap by one record (a *seam*): page n+1 starts with the record
that ended page n. A record created and another deleted between two page
requests leave the total unchanged yet shift every later page by one, skipping a
record silently; the seam sees that shift. Because the toolkit always sorts on a
unique key last (``id``), a walk whose every seam matches holds every record that
existed throughout it -- provided no record changes its place in that order (the
walk of a sort on ``id`` alone; see :mod:`brainstem_pandas.pagination` for other
sorts). Records without an ``id`` are compared by content at the seams
(:class:`Content`), and never dropped as duplicates (two may be alike).

The ledger also says how many of a page's records it had never seen (``fresh``):
a full page bringing nothing new is a server repeating itself, which a walk with
no announced total must stop on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Hashable, Sequence


class Content(str):
    """The content fingerprint standing for the id of a record without one (compared at seams, never deduplicated)."""


def record_key(record: Any) -> Hashable:
    """A record's ``id``, or its :class:`Content` fingerprint when it has none (None for a non-record).

    Examples
    --------
    >>> record_key({"id": 3}), record_key({"name": "a"}) == record_key({"name": "a"}), record_key(None)
    (3, True, None)
    """
    if not isinstance(record, dict):
        return None
    key = record.get("id")
    if key is not None and isinstance(key, Hashable):
        return key
    text = json.dumps(record, sort_keys=True, default=repr)
    return Content(hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest())


@dataclass(frozen=True)
class Shift:
    """A seam found broken: page ``page`` began with ``began``, not with ``ended`` which ended the page before."""

    page: int
    ended: Any
    began: Any


class SeamLedger:
    """Seam and duplicate bookkeeping, fed the record ids of each page in page order.

    Parameters
    ----------
    overlap : int
        Records each page shares with the page before (0: pages do not overlap).

    Examples
    --------
    >>> ledger = SeamLedger(overlap=1)
    >>> ledger.feed(0, [1, 2, 3])
    [0, 1, 2]
    >>> ledger.feed(1, [3, 4, 5])  # begins on the record that ended page 0: drop it
    [1, 2]
    >>> ledger.feed(2, [6, 7])  # should begin on 5: a record may have been skipped
    [0, 1]
    >>> ledger.shifts
    [Shift(page=2, ended=5, began=6)]
    """

    def __init__(self, overlap: int = 0) -> None:
        self.overlap = overlap
        self.seen: set[Hashable] = set()
        self.duplicates = 0
        self.unique = 0
        self.shifts: list[Shift] = []
        self.fresh = 0  # records of the last page never seen before (ids or content)
        self._tail: list[Any] = []  # the ids that ended the page before
        self._contents: set[Hashable] = set()

    def feed(self, number: int, ids: Sequence[Any]) -> list[int]:
        """Positions in ``ids`` (page ``number``) of the records not seen before; ``None`` and content keys are kept."""
        shared = self._seam(number, ids) if self.overlap else 0
        kept: list[int] = []
        seen, contents, fresh = self.seen, self._contents, 0
        for position in range(shared, len(ids)):
            key = ids[position]
            if key is None or isinstance(key, Content):
                kept.append(position)
                if key is None or key not in contents:
                    contents.add(key)
                    fresh += 1
            elif key in seen:
                self.duplicates += 1
            else:
                seen.add(key)
                kept.append(position)
                fresh += 1
        self.unique += len(kept)
        self.fresh = fresh
        return kept

    def _seam(self, number: int, ids: Sequence[Any]) -> int:
        """Check that page ``number`` starts where the page before ended; return how many records to drop."""
        before, self._tail = self._tail, list(ids[-self.overlap :]) if ids else []
        head = list(ids[: len(before)])
        if number == 0 or not before:
            return 0
        if not head:  # an empty page where the seam should be: the list shrank under the walk
            self.shifts.append(Shift(number, before[0], None))
            return 0
        if None in before or None in head:
            return len(head)  # non-records cannot be compared; skip the overlap by position
        if head != before:
            self.shifts.append(Shift(number, before[0], head[0]))
            return 0
        return len(head)


@dataclass
class Tally:
    """The figures of one walk and whether they add up.

    Examples
    --------
    >>> tally = Tally(SeamLedger(overlap=1))
    >>> tally.note(0, [1, 2, 3], total=5), tally.note(1, [3, 4, 5], total=5)
    ([0, 1, 2], [1, 2])
    >>> tally.received, tally.expected, tally.problem() is None
    (5, 5, True)
    >>> tally.note(2, [9], total=6)
    [0]
    >>> tally.problem()
    'the total changed during the walk (5 -> 6): records were added or removed meanwhile'
    """

    seams: SeamLedger = field(default_factory=SeamLedger)
    totals: list[int] = field(default_factory=list)
    pages: int = 0
    halted: str | None = None  # why the walk stopped before its end (a repeating or short-ending server)
    wanted: int | None = None  # records wanted at most (a limited read); those past it are dropped

    def note(self, number: int, ids: Sequence[Any], total: int | None) -> list[int]:
        """Count page ``number`` (its record ids and announced total); return the positions of its new records."""
        if total is not None:
            self.totals.append(total)
        self.pages += 1
        kept = self.seams.feed(number, ids)
        over = self.seams.unique - self.wanted if self.wanted is not None else 0
        if over > 0:  # the page went past the records wanted: the first ones only, in the server's order
            del kept[len(kept) - over :]
            self.seams.unique -= over
        return kept

    def enough(self) -> bool:
        """Whether every record wanted is in (never, for a read of every record)."""
        return self.wanted is not None and self.received >= self.wanted

    @property
    def expected(self) -> int | None:
        """The total announced on the first page (None for bare envelopes)."""
        return self.totals[0] if self.totals else None

    @property
    def received(self) -> int:
        """Unique records so far."""
        return self.seams.unique

    def problem(self) -> str | None:
        """Why this walk cannot be trusted, or None when it is complete."""
        totals, shifts = self.totals, self.seams.shifts
        if self.halted:
            return self.halted
        if totals and totals[0] < 0:
            return f"the server announced a negative total ({totals[0]})"
        if totals and len(set(totals)) > 1:
            return (
                f"the total changed during the walk ({totals[0]} -> {totals[-1]}): records were "
                "added or removed meanwhile"
            )
        if shifts:
            first = shifts[0]
            began = "was empty, not beginning" if first.began is None else f"began with record {first.began}, not"
            return (
                f"pages shifted during the walk: page {first.page + 1} {began} with "
                f"{first.ended} which ended page {first.page}, so a record may have been skipped "
                f"({len(shifts)} shifted seam(s)); records were added, removed or re-sorted meanwhile"
            )
        due = self.expected if self.wanted is None or self.expected is None else min(self.expected, self.wanted)
        if due is not None and self.received != due:
            limited = "" if due == self.expected else f" (of which {due} were wanted)"
            return f"received {self.received} unique records but the server announced {self.expected}{limited}"
        if self.expected is None and self.seams.duplicates:
            return f"{self.seams.duplicates} records arrived twice: pages shifted during the walk"
        return None
