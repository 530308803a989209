"""brainstem_pandas: every BrainSTEM record you may see, as linked, typed pandas DataFrames.

>>> import brainstem_pandas as bsp
>>> client = bsp.connect("http://127.0.0.1:8000", token="...")   # doctest: +SKIP
>>> sessions = client.read("session", sort=["-date_time"])       # doctest: +SKIP
"""

from brainstem_pandas._version import __version__
from brainstem_pandas.catalog import models  # noqa: E402
from brainstem_pandas.client import Client, SnapshotClient, connect, login, logout  # noqa: E402
from brainstem_pandas.errors import (  # noqa: E402
    APIError,
    AuthenticationError,
    BadRequestError,
    BrainstemError,
    ConfigurationError,
    DamagedSnapshotError,
    NotFoundError,
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
from brainstem_pandas.pagination import (  # noqa: E402
    NextLinkPaginator,
    OffsetPaginator,
    Page,
    PageNumberPaginator,
)
from brainstem_pandas.snapshot import diff_snapshots, read_snapshot, read_table  # noqa: E402
from brainstem_pandas.transport import RetryPolicy  # noqa: E402

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "BrainstemError",
    "Client",
    "ConfigurationError",
    "DamagedSnapshotError",
    "NextLinkPaginator",
    "NotFoundError",
    "OffsetPaginator",
    "Page",
    "PageNumberPaginator",
    "PaginationError",
    "PermissionDeniedError",
    "QueryError",
    "RateLimitError",
    "ResponseError",
    "RetryPolicy",
    "ServerError",
    "SnapshotClient",
    "SnapshotError",
    "TransportError",
    "UnauthorizedError",
    "UnknownNameError",
    "ValidationError",
    "__version__",
    "connect",
    "diff_snapshots",
    "login",
    "logout",
    "models",
    "read_snapshot",
    "read_table",
]
