"""Reading an answer's body: within a deadline and a size cap, decoded here, cut-offs detected.

requests reads a body with one timeout per socket read, so a server trickling a byte a
second keeps it open forever; it decodes gzip without checking that the stream ended,
so a gzip body cut under a matching ``Content-Length`` passes as complete; and it holds
any size in memory. Here the raw bytes are streamed in chunks: the whole answer must
arrive before the deadline, the decoded size is capped (a small compressed body cannot
expand past the cap either), and a compressed stream must reach its end.
"""

from __future__ import annotations

import time
import zlib
from typing import Iterator

import requests
import urllib3.exceptions

CHUNK = 64 * 1024
# The largest answer body held in memory (decoded): pages are far smaller; a server sending
# more is broken or hostile.
MAX_BODY = 512 * 1024 * 1024
# wbits for zlib: 16 + 15 reads gzip, 15 reads zlib-wrapped deflate.
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class CutShort(requests.exceptions.ChunkedEncodingError):
    """The connection broke mid-body (retried; counted as requests names it, ChunkedEncodingError)."""


class BadEncoding(requests.exceptions.ContentDecodingError):
    """A compressed body that is corrupt or ends before its end marker (retried, as ContentDecodingError)."""


class TooLarge(Exception):
    """The body grew past the size cap (not retried: it would only come again)."""


class Overdue(requests.Timeout):
    """The whole answer did not arrive before the deadline (retried like a read timeout)."""


def read_body(response: requests.Response, deadline: float, cap: int = MAX_BODY) -> bytes:
    """Read, decode and store ``response``'s body; ``deadline`` is a ``time.monotonic()`` value.

    Raises
    ------
    CutShort
        When the connection broke mid-body.
    BadEncoding
        When a compressed stream is corrupt or did not reach its end.
    TooLarge
        When the body (decoded) exceeds ``cap`` bytes.
    Overdue
        When the deadline passed before the body was complete.
    """
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity") and encoding not in _WBITS:
        # Only gzip and deflate are asked for (Accept-Encoding); anything else is unreadable here.
        raise BadEncoding(f"the answer is encoded as {encoding!r}, which was not asked for")
    declared = response.headers.get("Content-Length", "")
    if encoding in ("", "identity") and declared.isdigit() and int(declared) > cap:
        raise TooLarge(f"the server announced {int(declared):,} bytes, over the cap of {cap:,}")
    inflate = zlib.decompressobj(_WBITS[encoding]) if encoding in _WBITS else None
    parts: list[bytes] = []
    size = 0
    for raw in _raw_chunks(response):
        try:
            data = inflate.decompress(raw, cap + 1 - size) if inflate is not None else raw
        except zlib.error:
            data = b""
            corrupt = True
        else:
            corrupt = False
        if corrupt:
            raise BadEncoding(f"the {encoding} stream is corrupt")
        size += len(data)
        if size > cap or (inflate is not None and inflate.unconsumed_tail):
            raise TooLarge(f"the answer grew past the cap of {cap:,} bytes")
        parts.append(data)
        if time.monotonic() > deadline:
            raise Overdue("the whole answer did not arrive before the deadline")
    if inflate is not None and not inflate.eof and (size or parts):
        raise BadEncoding(f"the {encoding} stream ended before its end marker (the body was cut short)")
    body = b"".join(parts)
    response._content = body  # what response.content returns from now on
    response._content_consumed = True  # type: ignore[attr-defined]
    return body


def _raw_chunks(response: requests.Response) -> Iterator[bytes]:
    """The raw (still encoded) body in chunks; a broken connection becomes :class:`CutShort`."""
    raw = response.raw
    try:
        if not hasattr(raw, "read1"):  # a test double's stream
            yield from raw.stream(CHUNK, decode_content=False)
            return
        # read1 returns whatever one socket read brought: the deadline is checked between reads,
        # where read() would block until a whole chunk (64 KiB) had trickled in.
        while data := raw.read1(CHUNK, decode_content=False):
            yield data
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(f"read timed out ({type(exc).__name__})") from None
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.HTTPError, OSError) as exc:
        raise CutShort(f"the connection broke mid-answer ({type(exc).__name__})") from None
