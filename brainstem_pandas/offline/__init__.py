"""Answering from a snapshot, offline: ``engine`` (filter and sort semantics as pure
functions) and ``source`` (server-shaped pages and records from a snapshot's tables).
"""

from brainstem_pandas.offline.source import OfflineSource

__all__ = ["OfflineSource"]
