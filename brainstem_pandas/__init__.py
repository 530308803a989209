"""brainstem_pandas: every BrainSTEM record you may see, as linked, typed pandas DataFrames.

The public names live in modules, one per stage of the data flow
(see CONTRIBUTING.md); this module only re-exports them.

>>> import brainstem_pandas as bsp
>>> client = bsp.connect(sandbox.url, token=sandbox.token, progress=False)
>>> sessions = client.read("session", sort=["-date_time"])
>>> sessions.index.name, sessions["date_time"].dtype
('id', datetime64[us, UTC])
"""

from brainstem_pandas._version import __version__
from brainstem_pandas.catalog import models
from brainstem_pandas.client import Client, SnapshotClient
from brainstem_pandas.connection import connect, login, logout
from brainstem_pandas.diff import diff_snapshots
from brainstem_pandas.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    BrainstemError,
    Cancelled,
    ConfigurationError,
    DamagedSnapshotError,
    MissingDependencyError,
    NotFoundError,
    NwbMetadataError,
    PaginationError,
    PermissionDeniedError,
    QueryError,
    RateLimitError,
    ResponseError,
    ServerError,
    SnapshotError,
    TransportError,
    UnauthorizedError,
    UnknownNameError,
    ValidationError,
)
from brainstem_pandas.frames import FrameBuilder, LinkedFrames, TypeConflictWarning
from brainstem_pandas.frames.export import plain_text
from brainstem_pandas.pagination import (
    NextLinkPaginator,
    OffsetPaginator,
    Page,
    PageNumberPaginator,
    Paginator,
)
from brainstem_pandas.query import Query
from brainstem_pandas.snapshot import read_snapshot, read_table
from brainstem_pandas.sources import HttpSource, ReadOptions, ReadProgress, SnapshotSource, Source
from brainstem_pandas.transport import RetryPolicy

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "BrainstemError",
    "Cancelled",
    "Client",
    "ConfigurationError",
    "DamagedSnapshotError",
    "FrameBuilder",
    "HttpSource",
    "LinkedFrames",
    "MissingDependencyError",
    "NextLinkPaginator",
    "NotFoundError",
    "NwbMetadataError",
    "OffsetPaginator",
    "Page",
    "PageNumberPaginator",
    "PaginationError",
    "Paginator",
    "PermissionDeniedError",
    "Query",
    "QueryError",
    "RateLimitError",
    "ReadOptions",
    "ReadProgress",
    "ResponseError",
    "RetryPolicy",
    "ServerError",
    "SnapshotClient",
    "SnapshotError",
    "SnapshotSource",
    "Source",
    "TransportError",
    "TypeConflictWarning",
    "UnauthorizedError",
    "UnknownNameError",
    "ValidationError",
    "__version__",
    "connect",
    "diff_snapshots",
    "login",
    "logout",
    "models",
    "plain_text",
    "read_snapshot",
    "read_table",
]
