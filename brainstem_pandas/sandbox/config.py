"""Start-up options of the sandbox server, shared by every process it runs.

The parent (``Sandbox`` or the CLI) builds a :class:`SandboxConfig`, serialises it
into the ``BSP_SANDBOX_CONFIG`` environment variable, and the server process and
its workers read it back with :func:`load_config`. One JSON blob keeps the options
in one place instead of a dozen loosely named variables.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields

ENV_VAR = "BSP_SANDBOX_CONFIG"

ENVELOPES = ("count", "meta", "bare", "docs", "pages")
DEVICE_STARTS = ("full", "minimal")
FAULT_KINDS = ("500", "502", "503", "429", "reset", "truncate")

DATABASES = ("sqlite", "postgresql")


class SandboxConfigError(ValueError):
    """An invalid sandbox start-up option."""


@dataclass
class SandboxConfig:
    """Options chosen when the sandbox starts.

    Parameters
    ----------
    db_path : str
        SQLite database file the server uses.
    database : str
        ``"sqlite"`` (the embedded default) or ``"postgresql"`` (a server the
        sandbox starts itself, see :mod:`.postgres`).
    pg_host : str
        With ``"postgresql"``: the folder of the server's unix socket.
    pg_port : int
        With ``"postgresql"``: the socket's port number.
    envelope : str
        List envelope: ``"count"`` (``count/next/previous``), ``"meta"``
        (``meta.total_results``), ``"bare"`` (only the list key), ``"docs"`` (as
        documented: private lists bare, public lists with dynamic-rest's ``meta``) or
        ``"pages"`` (``docs`` with the lists carrying ``meta`` paginated by ``page``/``per_page``).
    seed : int
        Seed of the fault injector (and of the data generator).
    latency_ms : float
        Latency added to every API request.
    faults : dict
        Fraction of API requests answered with each fault, keyed by one of
        ``FAULT_KINDS``, e.g. ``{"503": 0.1, "reset": 0.02}``.
    burst_429 : int
        Number of consecutive 429 answers one ``"429"`` fault starts.
    retry_after : int
        ``Retry-After`` seconds sent with injected and rate-limit 429s.
    rate_limit : int
        Requests per ``rate_window`` seconds per client; 0 disables limiting.
    rate_window : int
        Length of the rate-limit window in seconds.
    access_ttl : int
        Lifetime in seconds of access tokens from ``/api/auth/token/``.
    refresh_ttl : int
        Lifetime in seconds of refresh tokens.
    device_interval : int
        Poll interval the device flow asks clients to honour, in seconds.
    device_ttl : int
        Seconds a device authorization session stays open.
    device_start : str
        What ``POST /api/auth/device/`` answers: ``"full"`` (``session_id``, ``device_code``,
        ``user_code``, ``verification_uri``, ``verification_uri_complete``, ``interval``,
        ``expires_in``) or ``"minimal"`` (only ``device_code``, ``verification_uri_complete``
        and ``expires_in``: the docs list no more than ``verification_uri_complete``).
    workers : int
        Server worker processes.
    threads : int
        Threads per worker process.
    cache : bool
        Keep rendered GET answers per user until the next write (see api/cache.py).

    Examples
    --------
    >>> cfg = SandboxConfig(db_path="/tmp/x.sqlite3", faults={"503": 0.1})
    >>> SandboxConfig.from_json(cfg.to_json()) == cfg
    True
    """

    db_path: str = ""
    database: str = "sqlite"
    pg_host: str = ""
    pg_port: int = 5432
    envelope: str = "count"
    seed: int = 0
    latency_ms: float = 0.0
    faults: dict[str, float] = field(default_factory=dict)
    burst_429: int = 3
    retry_after: int = 1
    rate_limit: int = 0
    rate_window: int = 60
    access_ttl: int = 3600
    refresh_ttl: int = 30 * 24 * 3600
    device_interval: int = 5
    device_ttl: int = 15 * 60
    device_start: str = "full"
    workers: int = 2
    threads: int = 8
    cache: bool = True

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`SandboxConfigError` naming the first bad option."""
        if self.envelope not in ENVELOPES:
            raise SandboxConfigError(f"envelope {self.envelope!r} is not one of {', '.join(ENVELOPES)}")
        if self.device_start not in DEVICE_STARTS:
            raise SandboxConfigError(f"device_start {self.device_start!r} is not one of {', '.join(DEVICE_STARTS)}")
        for kind, rate in self.faults.items():
            if kind not in FAULT_KINDS:
                raise SandboxConfigError(f"fault kind {kind!r} is not one of {', '.join(FAULT_KINDS)}")
            if not 0.0 <= float(rate) <= 1.0:
                raise SandboxConfigError(f"fault rate for {kind!r} must be between 0 and 1")
        if sum(float(r) for r in self.faults.values()) > 1.0:
            raise SandboxConfigError("fault rates add up to more than 1")
        if self.latency_ms < 0:
            raise SandboxConfigError("latency_ms must not be negative")
        if self.rate_limit < 0 or self.rate_window <= 0:
            raise SandboxConfigError("rate_limit must be >= 0 and rate_window > 0")
        if self.workers < 1 or self.threads < 1:
            raise SandboxConfigError("workers and threads must be at least 1")
        if self.database not in DATABASES:
            raise SandboxConfigError(f"database {self.database!r} is not one of {', '.join(DATABASES)}")

    def to_json(self) -> str:
        """Serialise to the JSON carried in ``BSP_SANDBOX_CONFIG``."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SandboxConfig":
        """Build from :meth:`to_json` output, ignoring unknown keys."""
        raw = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


def parse_faults(spec: str) -> dict[str, float]:
    """Parse a ``--faults`` option such as ``"503=0.1,429=0.05,reset=0.02"``.

    Examples
    --------
    >>> parse_faults("503=0.1,reset=0.02")
    {'503': 0.1, 'reset': 0.02}
    """
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, sep, rate = part.partition("=")
        if not sep:
            raise SandboxConfigError(f"fault {part!r} must look like KIND=RATE, e.g. 503=0.1")
        try:
            out[kind.strip()] = float(rate)
        except ValueError:
            raise SandboxConfigError(f"fault rate {rate!r} is not a number") from None
    SandboxConfig(faults=out)  # validates kinds and rates
    return out


def load_config() -> SandboxConfig:
    """Return the configuration of the running sandbox process."""
    text = os.environ.get(ENV_VAR)
    return SandboxConfig.from_json(text) if text else SandboxConfig()
