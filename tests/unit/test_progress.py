"""Progress bars: one overall bar over many walks, walk bars that do not pile up, retries shown."""

from __future__ import annotations

from brainstem_pandas.pagination import OffsetPaginator, Walk
from brainstem_pandas.progress import overall_progress
from brainstem_pandas.testing import MockTransport, Response, serve_offset
from brainstem_pandas.transport import RetryPolicy


def left_on_screen(err: str) -> list[str]:
    """What a terminal shows once ``err`` is written: carriage returns, newlines and cursor-up (tqdm's nesting)."""
    screen: list[list[str]] = [[]]
    row = col = 0
    text = err.replace("\x1b[A", "\x00")  # the one escape tqdm moves with
    for char in text:
        if char == "\r":
            col = 0
        elif char == "\n":
            row, col = row + 1, 0
        elif char == "\x00":
            row = max(row - 1, 0)
        else:
            while len(screen) <= row:
                screen.append([])
            line = screen[row]
            line.extend(" " * (col + 1 - len(line)))
            line[col] = char
            col += 1
    return [shown for shown in ("".join(line).strip() for line in screen) if shown]


def walk(mock: MockTransport, name: str) -> int:
    transport = mock.transport(retry=RetryPolicy(attempts=4, backoff=0.0))
    url = transport.url(f"api/{name}/")
    pages = Walk(transport, url, [], OffsetPaginator(), name + "s", progress=True, description=name)
    return sum(len(page.records) for page in pages)


def test_a_walk_alone_leaves_its_bar_and_shows_its_retries(capsys):
    serve = serve_offset([{"id": n} for n in range(1, 251)], "sessions")
    failed: list[int] = []

    def flaky(request):
        if not failed:
            failed.append(1)
            return Response(503)
        return serve(request)

    assert walk(MockTransport(flaky), "session") == 250
    lines = left_on_screen(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith("session") and "250/250" in lines[0] and "1 retried" in lines[0]


def test_many_walks_under_one_overall_bar_leave_one_line(capsys):
    mocks = {name: MockTransport(serve_offset([{"id": n} for n in range(1, 121)], name + "s")) for name in "abc"}
    with overall_progress(3, "snapshot"):
        assert sum(walk(mock, name) for name, mock in mocks.items()) == 360
    lines = left_on_screen(capsys.readouterr().err)
    assert len(lines) == 1, lines
    assert lines[0].startswith("snapshot") and "3/3" in lines[0] and "360 records" in lines[0]
