"""The sandbox's API roots answer an index of their endpoints (JSON), as a DRF API root does."""

from __future__ import annotations

from brainstem_pandas import catalog


def test_the_printed_api_url_answers_an_index(sandbox, anon):
    answer = anon.get(sandbox.api_url, timeout=60)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    index = answer.json()
    assert index["private"] == f"{sandbox.url}/api/private/" and index["public"] == f"{sandbox.url}/api/public/"
    assert index["auth"]["device"] == f"{sandbox.url}/api/auth/device/"


def test_a_portal_root_lists_every_model_of_the_portal_and_each_link_answers(sandbox, http):
    for portal in ("private", "public"):
        index = http.get(f"{sandbox.url}/api/{portal}/", timeout=60).json()
        wanted = [m.name for m in catalog.all_models().values() if portal in m.portals.get("list", ())]
        assert list(index) == wanted
    index = http.get(f"{sandbox.url}/api/private/", timeout=60).json()
    assert index["session"] == f"{sandbox.url}/api/private/stem/session/"
    answer = http.get(index["session"], params={"limit": 1}, timeout=60)
    assert answer.status_code == 200 and "sessions" in answer.json()


def test_an_unknown_portal_root_is_a_json_404(sandbox, anon):
    answer = anon.get(f"{sandbox.url}/api/super/", timeout=60)
    assert answer.status_code == 404 and "Not found" in answer.json()["detail"]


def test_the_fixed_paths_under_api_still_answer(sandbox, anon):
    # /api/{portal}/ comes last: /api/token/ is the legacy token endpoint, not a portal.
    answer = anon.post(f"{sandbox.url}/api/token/", json={"username": sandbox.email, "password": "wrong"}, timeout=60)
    assert answer.status_code in (400, 401)
