"""Connection-level faults: dropping a connection with an RST, or cutting an answer short.

Both need the raw client socket, which gunicorn exposes as
``environ["gunicorn.socket"]``; after dealing with it the middleware raises
:class:`ConnectionSevered`, which gunicorn treats as an ordinary client disconnect.

Examples
--------
>>> raw_socket({"SERVER_PROTOCOL": "HTTP/1.1"}) is None  # no gunicorn socket: no connection-level fault
True
"""

from __future__ import annotations

import os
import socket
import struct

from brainstem_pandas.sandbox.faults.responses import Headers

_HTTP1 = ("HTTP/1.0", "HTTP/1.1")

# Most request-body bytes read before closing a truncated answer's connection.
_MAX_DRAIN = 1 << 20


class ConnectionSevered(ConnectionError):
    """Raised after the middleware has cut the client connection itself.

    Servers see an ``OSError`` whose errno says the peer went away, which
    gunicorn handles quietly instead of answering 500.
    """


def raw_socket(environ: dict) -> socket.socket | None:
    """The client socket, if the server exposes it on an HTTP/1 connection."""
    sock = environ.get("gunicorn.socket")
    if sock is None or environ.get("SERVER_PROTOCOL") not in _HTTP1:
        # On HTTP/2 the socket carries other streams; writing to it or killing
        # it would not fault just this request.
        return None
    return sock


def close_underneath(sock: socket.socket) -> None:
    """Close the connection behind ``sock`` while keeping its descriptor valid.

    A fresh, unconnected socket is ``dup2``-ed onto the descriptor, which
    closes the connection in one step. ``sock.close()`` would not do: the
    server still owns ``sock`` and shuts it down and closes it afterwards. On
    a closed socket object that clean-up fails half-way (gunicorn's gthread
    worker then counts the connection as finished twice), whereas on the
    placeholder it runs normally and merely finds nothing connected. It also
    spares the server its lingering close, which would hold a worker thread
    for up to two seconds waiting for a client that keeps the broken
    connection open.
    """
    with socket.socket(sock.family, socket.SOCK_STREAM) as placeholder:
        os.dup2(placeholder.fileno(), sock.fileno(), inheritable=False)


def abort_connection(sock: socket.socket) -> bool:
    """Drop a TCP connection with an RST, keeping its descriptor usable.

    Parameters
    ----------
    sock : socket.socket
        A connected client socket.

    Returns
    -------
    bool
        Whether the connection was dropped.

    Notes
    -----
    ``SO_LINGER`` on with a zero timeout makes closing the connection send an
    RST instead of a FIN; see :func:`close_underneath` for the closing.
    """
    try:
        if sock.fileno() < 0:
            return False
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        close_underneath(sock)
    except OSError:
        return False
    return True


def drain_input(environ: dict, limit: int = _MAX_DRAIN) -> None:
    """Read what is left of the request body, up to ``limit`` bytes.

    Closing a connection with unread bytes in its receive buffer makes the
    kernel send an RST, which can discard the half body before the client
    reads it.
    """
    stream = environ.get("wsgi.input")
    if stream is None:
        return
    try:
        while limit > 0:
            chunk = stream.read(min(65536, limit))
            if not chunk:
                return
            limit -= len(chunk)
    except Exception:  # noqa: BLE001 - best effort: a broken body only risks an RST
        return


def send_truncated(sock: socket.socket, environ: dict, status: str, headers: Headers, body: bytes) -> None:
    """Write a response announcing all of ``body`` but carrying half of it.

    The response is written by hand because the server would drop our
    ``Connection: close`` (a hop-by-hop header) and keep the connection open,
    leaving the client waiting for bytes that never come. The connection is
    then closed after a FIN, so the client sees the end of the stream at once.
    """
    head = [f"{environ['SERVER_PROTOCOL']} {status}"]
    head += [f"{name}: {value}" for name, value in headers]
    head += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    drain_input(environ)
    sock.sendall("\r\n".join(head).encode("latin-1") + body[: len(body) // 2])
    sock.shutdown(socket.SHUT_WR)
    close_underneath(sock)
