"""Answering from a snapshot, offline: ``engine`` (the server's filter and sort semantics
as pure functions), ``records`` (API-shaped records rebuilt from a snapshot's tables) and
``source`` (server-shaped pages and records, with includes, from a snapshot's tables).
"""

from brainstem_pandas.offline.source import OfflineSource

__all__ = ["OfflineSource"]
