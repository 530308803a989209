"""records_frame (the frame ``read`` gives) on plain records: declared dtypes, JSON as sent, unknown fields."""

from __future__ import annotations

import warnings

import pytest

from brainstem_pandas.frames import TypeConflictWarning, records_frame


def test_json_fields_are_kept_exactly_as_sent():
    extra = [{"rig": "A"}, {"trials": 3, "nested": {"deep": [1, {"x": None}]}}, {}]
    links = [[{"url": "u"}], [], None]
    frame = records_frame(
        "session",
        [{"id": f"s{n}", "extra_fields": e, "download_links": d} for n, (e, d) in enumerate(zip(extra, links))],
    )
    assert frame["extra_fields"].tolist() == extra  # no keys filled in from other records
    assert frame["download_links"].tolist() == links
    assert frame["extra_fields"].dtype == object


def test_declared_fields_take_the_catalogs_dtypes():
    frame = records_frame(
        "session",
        [{"id": "s1", "name": "a", "date_time": "2024-05-01T10:00:00+02:00", "tags": ["x"], "projects": ["p1", "p2"]}],
    )
    assert str(frame.loc["s1", "date_time"]) == "2024-05-01 08:00:00+00:00"
    assert frame.loc["s1", "tags"] == ["x"] and frame.loc["s1", "projects"] == ["p1", "p2"]
    users = records_frame("user", [{"id": 7, "username": "ann"}])
    assert users.index.tolist() == [7] and str(users.index.dtype) == "Int64"


def test_an_empty_read_has_the_columns_and_dtypes_of_a_full_one():
    full = records_frame("subject", [{"id": "m1", "name": "mouse", "birth_date": "2024-02-03", "tags": []}])
    empty = records_frame("subject", [])
    assert list(full.columns) == list(empty.columns) and full.dtypes.equals(empty.dtypes)
    assert str(full["birth_date"].dtype) == "date32[day][pyarrow]"


def test_fields_the_catalog_does_not_know_are_typed_by_inference():
    with warnings.catch_warnings():
        warnings.simplefilter("error", TypeConflictWarning)
        frame = records_frame(
            "session",
            [
                {"id": "s1", "count": 3, "ratio": 0.5, "meta": {"b": 1}, "sizes": [1, 2], "labels": ["a"]},
                {"id": "s2", "count": None, "ratio": 2, "meta": {"a": [True]}, "sizes": [], "labels": None},
            ],
        )
    assert [str(frame[c].dtype) for c in ("count", "ratio", "labels")] == [
        "Int64",
        "Float64",
        "list<item: string>[pyarrow]",
    ]
    assert frame["meta"].tolist() == ['{"b": 1}', '{"a": [true]}']  # objects as JSON text
    assert frame["sizes"].tolist() == [[1, 2], []] and frame["sizes"].dtype == object


def test_values_that_do_not_fit_their_type_are_kept_as_text_with_a_warning():
    with pytest.warns(TypeConflictWarning) as caught:
        frame = records_frame(
            "session", [{"id": "s1", "date_time": 12345}, {"id": "s2", "mixed": 1}, {"id": "s3", "mixed": "x"}]
        )
    messages = " ".join(str(w.message) for w in caught)
    assert "session.date_time" in messages and "session.mixed" in messages
    assert frame.loc["s1", "date_time"] == "12345" and frame["mixed"].tolist()[1:] == ["1", "x"]
