"""Every read, read_linked, snapshot and offline read under each envelope the sandbox offers, on both portals.

One sandbox per envelope (module-scoped: count, meta, bare, docs, pages), all seeded
alike, and a reference read of the ``count`` sandbox: whatever the envelope (a
total or none, limit/offset honoured or page numbers), the client must return the
same frames, every model complete. ``pages`` is the public portal paginating by
``page``/``per_page`` as dynamic-rest does (limit/offset ignored).
"""

from __future__ import annotations

from typing import Iterator

import pandas as pd
import pytest

import brainstem_pandas as bsp
from brainstem_pandas.sandbox import Sandbox

ENVELOPES = ["count", "meta", "bare", "docs", "pages"]
PORTALS = ["private", "public"]
SESSIONS = 300
SMALL_PAGES = 25  # several pages per walk (not 20: the sandbox's own page size, see test_envelopes.py)
LINKED = ["projects", "behaviors"]


def read_everything(sb: Sandbox, portal: str) -> dict[str, pd.DataFrame | str]:
    """Every readable model of ``portal``, or the refusal's type for models the demo user may not list."""
    client = bsp.connect(sb.url, token=sb.token, progress=False)
    frames: dict[str, pd.DataFrame | str] = {}
    for model in client.readable_models(portal):
        try:
            frames[model] = client.read(model, portal=portal)
        except (bsp.PermissionDeniedError, bsp.NotFoundError) as exc:
            frames[model] = type(exc).__name__
    client.close()
    return frames


@pytest.fixture(scope="module")
def reference() -> Iterator[dict[str, dict]]:
    with Sandbox(sessions=SESSIONS, envelope="count") as sb:
        client = bsp.connect(sb.url, token=sb.token, progress=False)
        out = {
            portal: {
                "all": read_everything(sb, portal),
                "linked": client.read_linked("session", include=LINKED, portal=portal),
                "sorted": client.read("session", sort=["-date_time", "name"], portal=portal),
            }
            for portal in PORTALS
        }
        client.close()
        yield out


@pytest.fixture(scope="module", params=ENVELOPES)
def server(request) -> Iterator[Sandbox]:
    with Sandbox(sessions=SESSIONS, envelope=request.param) as sb:
        yield sb


def counting(sb: Sandbox, workers: int = 8, page_size: int = 100) -> bsp.Client:
    client = bsp.connect(sb.url, token=sb.token, progress=False, workers=workers)
    client.options = client.options.but(page_size=page_size)
    return client


@pytest.mark.parametrize("portal", PORTALS)
def test_every_model_reads_completely(server, reference, portal):
    frames = read_everything(server, portal)
    expected = reference[portal]["all"]
    assert frames.keys() == expected.keys()
    for model, frame in frames.items():
        if isinstance(expected[model], str):
            assert frame == expected[model], model
        else:
            pd.testing.assert_frame_equal(frame, expected[model], obj=f"{model} ({portal})")
    read = sum(len(f) for f in frames.values() if not isinstance(f, str))
    assert read > (400 if portal == "public" else 900)  # the seeded world, not a handful of records


@pytest.mark.parametrize("portal", PORTALS)
def test_small_pages_read_concurrently_without_a_duplicate_or_gap(server, reference, portal):
    client = counting(server, page_size=SMALL_PAGES, workers=4)
    frame = client.read("session", portal=portal)
    pd.testing.assert_frame_equal(frame, reference[portal]["all"]["session"])
    pages = -(-len(frame) // SMALL_PAGES)
    # Pages of 25 (offset pages overlap by one), page one read again when the server answered by page
    # number, and without a total at most one speculative window of 4 past the end.
    assert pages <= client.transport.requests_sent <= pages + len(frame) // (SMALL_PAGES - 1) + 1 + 4
    client.close()


@pytest.mark.parametrize("portal", PORTALS)
def test_read_linked_with_includes(server, reference, portal):
    client = counting(server)
    lf = client.read_linked("session", include=LINKED, portal=portal)
    expected = reference[portal]["linked"]
    assert sorted(lf.tables) == sorted(expected.tables) == ["behavior", "project", "session"]
    for name in lf.tables:
        pd.testing.assert_frame_equal(lf.tables[name], expected.tables[name], obj=name)
    assert lf.links.keys() == expected.links.keys()
    client.close()


@pytest.mark.parametrize("portal", PORTALS)
def test_a_sorted_read_is_checked_and_complete(server, reference, portal):
    client = counting(server)
    frame = client.read("session", sort=["-date_time", "name"], portal=portal)
    pd.testing.assert_frame_equal(frame, reference[portal]["sorted"])
    client.close()


@pytest.mark.parametrize("portal", PORTALS)
def test_a_limited_read_is_the_head_of_the_full_read(server, reference, portal):
    client = counting(server)
    head = client.read("session", sort=["-date_time", "name"], portal=portal, limit=30)
    pd.testing.assert_frame_equal(head, reference[portal]["sorted"].head(30))
    assert client.transport.requests_sent <= 2  # one page (a page-number server: the probe held 20, then 30)
    client.close()


def test_a_snapshot_and_its_offline_reads(server, reference, tmp_path):
    client = counting(server)
    path = tmp_path / "snap"
    client.snapshot(path, models=["session", "project"], include={"session": LINKED}, portal="public")
    offline = bsp.connect(snapshot=path)
    expected = reference["public"]["all"]
    pd.testing.assert_frame_equal(offline.read("session"), expected["session"])
    pd.testing.assert_frame_equal(offline.read("project"), expected["project"])
    sorted_offline = offline.read("session", sort=["-date_time", "name"])
    pd.testing.assert_frame_equal(sorted_offline, reference["public"]["sorted"])
    client.close()
