"""The bookkeeping of one walk, on plain lists of record ids: seams, duplicates and figures.

Nothing here sends a request or looks inside a record: a walk hands over the ids
of each page in page order, and gets back which records are new. That keeps the
proof of completeness testable with lists such as ``[1, 2, 3]``.

Offset pages overlap by one record (a *seam*): page n+1 starts with the record
that ended page n. A record created and another deleted between two page
requests leave the total unchanged yet shift every later page by one, skipping a
record silently; the seam sees that shift. Because the toolkit always sorts on a
unique key last (``id``), a walk whose every seam matches holds every record that
existed throughout it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable, Sequence


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
        self._tail: list[Any] = []  # the ids that ended the page before

    def feed(self, number: int, ids: Sequence[Any]) -> list[int]:
        """Positions in ``ids`` (page ``number``) of the records not seen before; ``None`` ids are always kept."""
        shared = self._seam(number, ids) if self.overlap else 0
        kept: list[int] = []
        seen = self.seen
        for position in range(shared, len(ids)):
            key = ids[position]
            if key is None:
                kept.append(position)
            elif key in seen:
                self.duplicates += 1
            else:
                seen.add(key)
                kept.append(position)
        self.unique += len(kept)
        return kept

    def _seam(self, number: int, ids: Sequence[Any]) -> int:
        """Check that page ``number`` starts where the page before ended; return how many records to drop."""
        before, self._tail = self._tail, list(ids[-self.overlap :]) if ids else []
        head = list(ids[: len(before)])
        if number == 0 or not before or not head:
            return 0
        if None in before or None in head:
            return len(head)  # records without ids cannot be checked; skip the overlap by position
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

    def note(self, number: int, ids: Sequence[Any], total: int | None) -> list[int]:
        """Count page ``number`` (its record ids and announced total); return the positions of its new records."""
        if total is not None:
            self.totals.append(total)
        self.pages += 1
        return self.seams.feed(number, ids)

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
        if totals and len(set(totals)) > 1:
            return (
                f"the total changed during the walk ({totals[0]} -> {totals[-1]}): records were "
                "added or removed meanwhile"
            )
        if shifts:
            first = shifts[0]
            return (
                f"pages shifted during the walk: page {first.page + 1} began with record {first.began}, not with "
                f"{first.ended} which ended page {first.page}, so a record may have been skipped "
                f"({len(shifts)} shifted seam(s)); records were added, removed or re-sorted meanwhile"
            )
        if self.expected is not None and self.received != self.expected:
            return f"received {self.received} unique records but the server announced {self.expected}"
        if self.expected is None and self.seams.duplicates:
            return f"{self.seams.duplicates} records arrived twice: pages shifted during the walk"
        return None
