"""Which server a URL is on, and when a secret may travel to it."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from brainstem_pandas.errors import ConfigurationError


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with default ports filled in."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def is_loopback(url: str) -> bool:
    """True for localhost and loopback addresses."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_secure(url: str, allow_insecure_http: bool = False, what: str = "a token") -> None:
    """Refuse to send ``what`` (a secret) over plain http to a host that is not loopback, unless allowed.

    Examples
    --------
    >>> check_secure("http://127.0.0.1:8000")
    >>> check_secure("http://example.org", allow_insecure_http=True)
    """
    parts = urlsplit(url)
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(url):
        raise ConfigurationError(
            f"Refusing to send {what} over plain http to {parts.hostname}: use https, "
            "or pass allow_insecure_http=True if you really mean it."
        )
