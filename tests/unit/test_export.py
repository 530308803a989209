"""CSV and JSON exports: nested cells as JSON (never Python reprs), rich text with a plain-text column."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest

import brainstem_pandas as bsp
from brainstem_pandas.frames import FrameBuilder, records_frame
from brainstem_pandas.frames.export import export_csv, export_json, html_text

SID = "00000000-0000-4000-8000-000000000001"
DESCRIPTION = "<p>Rats &amp; mice</p><p>Second<br>line</p><script>alert('<p>x</p>')</script>"
SESSION = {
    "id": SID,
    "name": "s1",
    "description": DESCRIPTION,
    "tags": ["pilot", 'it\'s "quoted"'],
    "projects": ["00000000-0000-4000-8000-0000000000aa"],
    "extra_fields": {"rig": "A", "trials": [1, 2]},
    "download_links": [{"repository": "DANDI", "url": "https://dandiarchive.org/x"}],
    "date_time": "2024-05-01T10:00:00Z",
}


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_a_csv_export_holds_json_text_in_nested_cells_and_plain_text_beside_the_html():
    frame = records_frame("session", [SESSION, {"id": "00000000-0000-4000-8000-000000000002", "name": "s2"}])
    first, second = rows_of(export_csv(frame, "session"))
    assert json.loads(first["tags"]) == SESSION["tags"]
    assert json.loads(first["projects"]) == SESSION["projects"]
    assert json.loads(first["extra_fields"]) == SESSION["extra_fields"]
    assert json.loads(first["download_links"]) == SESSION["download_links"]
    assert first["description"] == DESCRIPTION  # the HTML is kept as sent
    assert first["description_text"] == "Rats & mice\nSecond\nline"
    header = list(first)
    assert header[:4] == ["id", "name", "description", "description_text"]
    assert second["tags"] == second["description_text"] == ""  # missing stays empty, not "None" or "[]"


def test_a_linked_export_writes_every_table_and_its_nested_cells_as_json(tmp_path):
    builder = FrameBuilder("project")
    builder.add_records(
        "project",
        [{"id": "p1", "name": "P", "description": "<b>Big</b> &gt; small", "tags": ["a", "b"], "users": {}}],
    )
    lf = builder.finish()
    paths = lf.export(tmp_path / "out")
    assert [p.name for p in paths] == [f"{name}.csv" for name in lf.to_dict()]
    (project,) = rows_of((tmp_path / "out" / "project.csv").read_text())
    assert json.loads(project["tags"]) == ["a", "b"] and project["description_text"] == "Big > small"
    assert list(rows_of((tmp_path / "out" / "project.users.csv").read_text())) == []
    (as_json,) = json.loads((lf.export(tmp_path / "json", "json")[0]).read_text())
    assert as_json["tags"] == ["a", "b"] and as_json["description_text"] == "Big > small"
    with pytest.raises(bsp.QueryError, match="'csv' or 'json'"):
        lf.export(tmp_path / "x", "xlsx")


def test_a_json_export_writes_nested_values_as_json_values_not_text():
    frame = records_frame("session", [SESSION])
    (record,) = json.loads(export_json(frame, "session"))
    assert record["id"] == SID and record["tags"] == SESSION["tags"]
    assert record["extra_fields"] == SESSION["extra_fields"] and record["download_links"] == SESSION["download_links"]
    assert record["description"] == DESCRIPTION and record["description_text"] == "Rats & mice\nSecond\nline"


@pytest.mark.parametrize(
    "markup, text",
    [
        ("<p>unclosed <b>bold <i>and more", "unclosed bold and more"),
        ("a &lt;b&gt; &amp;&amp; &#39;c&#x27; &quot;d&quot; &nbsp;e &bogus; &amp", "a <b> && 'c' \"d\" e &bogus; &"),
        ("<script>document.write('<p>hi</p>')</script>after", "after"),
        ("before<script>never closed <p>hidden</p>", "before"),
        ("<style>p { color: red }</style><p>A</p>\n\n  <p>B    C</p><br><br>D", "A\nB C\nD"),
        ("<ul><li>one</li><li>two<li>three</ul>", "one\ntwo\nthree"),
        ("x < y and y > z", "x < y and y > z"),
        ("<!-- a comment --><p>kept</p><!-- unclosed", "kept"),
        ("line<br/>break<BR>again", "line\nbreak\nagain"),
        ("<div><div><div>deep</div></div></div>" * 3, "deep\ndeep\ndeep"),
    ],
)
def test_plain_text_of_hostile_html(markup, text):
    assert bsp.plain_text(markup) == text == html_text(markup)


def test_plain_text_of_a_series_keeps_index_and_missing_values_and_is_linear():
    series = pd.Series(["<p>a</p>", None, pd.NA, 3], index=["s1", "s2", "s3", "s4"], name="description")
    out = bsp.plain_text(series)
    assert out.index.tolist() == series.index.tolist() and out.name == "description" and str(out.dtype) == "string"
    assert out.tolist() == ["a", pd.NA, pd.NA, "3"]
    deep = "<div>" * 50_000 + "x"  # nesting costs no recursion
    assert bsp.plain_text(deep) == "x"
