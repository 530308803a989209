"""Which server a URL is on, and when a secret may travel to it.

Origins are computed with :func:`urllib3.util.parse_url`, the parser urllib3 uses to
decide where to connect, so the host compared is the host the request goes to. A URL
that parsers could read two ways (a backslash, user information, spaces or control
characters, or any URL on which :func:`urllib.parse.urlsplit` and urllib3 disagree)
is refused outright: ``http://OTHER\\@SERVER/`` looks like SERVER to one and connects
to OTHER with the other.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from brainstem_pandas.errors import ConfigurationError

DEFAULT_PORTS = {"http": 80, "https": 443}


def ambiguity(url: str) -> str | None:
    """Why ``url`` cannot be trusted to go where it seems to, or None when it can.

    Examples
    --------
    >>> ambiguity("https://www.brainstem.org/api/") is None
    True
    >>> ambiguity("http://other.org\\\\@127.0.0.1/")
    'it holds a backslash'
    >>> ambiguity("https://me:secret@www.brainstem.org/")
    'it holds user information (name:password@)'
    """
    if "\\" in url:
        return "it holds a backslash"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "it holds a space or a control character"
    try:
        mine, theirs = urlsplit(url), parse_url(url)
        mine_port = mine.port
    except (ValueError, LocationParseError):
        return "it cannot be parsed"
    if mine.username is not None or mine.password is not None or theirs.auth or "@" in mine.netloc:
        return "it holds user information (name:password@)"
    if (mine.scheme.lower(), (mine.hostname or "").lower(), mine_port) != (
        (theirs.scheme or "").lower(),
        (theirs.host or "").strip("[]").lower(),
        theirs.port,
    ):
        return "URL parsers disagree on its host"
    return None


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of where a request for ``url`` connects, default ports filled in.

    Examples
    --------
    >>> origin("HTTPS://WWW.brainstem.org/api/")
    ('https', 'www.brainstem.org', 443)
    """
    try:
        parts = parse_url(url)
    except LocationParseError:
        return "", "", None
    scheme = (parts.scheme or "").lower()
    return scheme, (parts.host or "").strip("[]").lower(), parts.port or DEFAULT_PORTS.get(scheme)


def check_url(url: str, what: str = "Server URL") -> None:
    """Refuse a server URL that is not plain ``scheme://host[:port][/path]``.

    Raises
    ------
    ConfigurationError
        For another scheme, no host, user information (pass a token instead) or an ambiguous URL.

    Examples
    --------
    >>> check_url("http://127.0.0.1:8000")
    >>> check_url("https://me:pw@www.brainstem.org")
    Traceback (most recent call last):
    ...
    brainstem_pandas.errors.ConfigurationError: Server URL 'https://www.brainstem.org' holds a name and password...
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"{what} must be text such as 'https://www.brainstem.org', not {type(url).__name__}.")
    why = ambiguity(url)
    shown = safe_url(url)
    if why and "user information" in why:
        raise ConfigurationError(
            f"{what} {shown!r} holds a name and password: credentials never go in a URL (they would "
            "show in logs, messages and snapshots). Write the URL without them and pass token=... "
            "(or email= and password=) instead."
        )
    if why:
        raise ConfigurationError(f"{what} {shown!r} is refused: {why}. Write it like https://www.brainstem.org.")
    scheme, host, _ = origin(url)
    if scheme not in ("http", "https") or not host:
        raise ConfigurationError(
            f"{what} {shown!r} needs a scheme and a host: write it like "
            "https://www.brainstem.org (or http://127.0.0.1:8000 for a local sandbox)."
        )


def safe_url(url: str) -> str:
    """``url`` without any user information (name:password@), for messages.

    Examples
    --------
    >>> safe_url("https://me:secret@www.brainstem.org/api/")
    'https://www.brainstem.org/api/'
    """
    head, sep, rest = url.partition("://")
    if not sep:
        return url.rsplit("@", 1)[-1]
    netloc, slash, path = rest.partition("/")
    return f"{head}://{netloc.rsplit('@', 1)[-1]}{slash}{path}"


def is_loopback(url: str) -> bool:
    """True for localhost and loopback addresses (the host a request for ``url`` connects to)."""
    host = origin(url)[1]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_secure(url: str, allow_insecure_http: bool = False, what: str = "a token") -> None:
    """Refuse to send ``what`` (a secret) to an ambiguous URL, or over plain http to a host that is not loopback.

    Examples
    --------
    >>> check_secure("http://127.0.0.1:8000")
    >>> check_secure("http://example.org", allow_insecure_http=True)
    """
    check_url(url)
    scheme, host, _ = origin(url)
    if scheme == "http" and not allow_insecure_http and not is_loopback(url):
        raise ConfigurationError(
            f"Refusing to send {what} over plain http to {host}: use https, "
            "or pass allow_insecure_http=True if you really mean it."
        )
