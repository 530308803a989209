"""The README's 30-second example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_thirty_second_example_runs():
    text = README.read_text()
    section = text.split("## 30-second example", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    scope: dict = {}
    exec(compile(code.replace("Sandbox(sessions=2000)", "Sandbox(sessions=300)"), "README.md", "exec"), scope)
    assert len(scope["sessions"]) > 0 and scope["sessions"]["name"].str.contains("MM", case=False).all()
    assert scope["per_project"].sum() == len(scope["lf"]["session"])


def test_readme_links_every_notebook_and_only_existing_ones():
    text = README.read_text()
    linked = set(re.findall(r"\]\((notebooks/[^)]+\.ipynb)\)", text))
    present = {f"notebooks/{p.name}" for p in (README.parent / "notebooks").glob("*.ipynb")}
    assert linked == present and len(present) >= 5


def test_readme_has_exactly_two_setup_commands():
    section = README.read_text().split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
    commands = re.search(r"```bash\n(.*?)```", section, re.S).group(1).strip().splitlines()
    assert [c.split("#")[0].strip() for c in commands] == ["./dev demo", "./dev test"]
