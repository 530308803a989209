"""The README's 30-second example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_thirty_second_example_runs():
    text = README.read_text()
    section = text.split("## 30-second example", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    scope: dict = {}
    exec(compile(code.replace("Sandbox(sessions=2000)", "Sandbox(sessions=300)"), "README.md", "exec"), scope)
    assert len(scope["sessions"]) > 0 and scope["sessions"]["name"].str.contains("MM", case=False).all()
    assert scope["per_project"].sum() == len(scope["lf"]["session"])
