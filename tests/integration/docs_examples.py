"""The example requests and responses of the BrainSTEM API documentation, parsed.

Every page under ``brainstem_docs/api/`` is read; an endpoint page is split into its
``## `` sections (List view, Add, Detail, Change, Delete, actions), and in each
section the fenced code blocks are taken in order: a block calling
``client.load`` / ``client.save`` / ``client.delete`` is a request, the next block
that is not a request is its response. The section's ``Request method`` and
``Responses`` lines give the documented method and status codes.

The docs' examples are not machine-readable as they stand, so parsing is lenient,
and each leniency is recorded on the example (``Example.repairs``):

- responses are Python dict literals on most pages and JSON on others: JSON's
  ``null`` / ``true`` / ``false`` are read as Python's ``None`` / ``True`` / ``False``;
- trailing commas are accepted (Python literals allow them);
- a comma missing at the end of a line between two entries is inserted;
- ``// comments`` after a value are dropped;
- placeholders such as ``"<id>"``, ``"<journal-id>"`` stay strings
  (:func:`is_placeholder` recognises them).

The location of the docs is found at run time (:func:`docs_root`): ``BSP_BRAINSTEM_DOCS``
when set, else ``../shared/reference/brainstem_docs`` beside the repository (for a git
worktree, beside its main checkout as well).
"""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DOCS_RELATIVE = Path("..") / "shared" / "reference" / "brainstem_docs"
CALLS = ("load", "save", "delete")
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
_PLACEHOLDER = re.compile(r"^<[^<>]+>$")
_JSON_NAMES = {"null": "None", "true": "True", "false": "False"}


class DocsMissing(RuntimeError):
    """The BrainSTEM documentation is not where the conformance test looks for it."""


def _candidates() -> list[Path]:
    out = []
    if os.environ.get("BSP_BRAINSTEM_DOCS"):
        out.append(Path(os.environ["BSP_BRAINSTEM_DOCS"]))
    out.append(REPO / DOCS_RELATIVE)
    git = REPO / ".git"
    if git.is_file():  # a worktree: ".git" names the main checkout's git directory
        text = git.read_text("utf-8").strip()
        if text.startswith("gitdir:"):
            gitdir = Path(text.split(":", 1)[1].strip())
            main = gitdir.parent.parent.parent  # <main>/.git/worktrees/<name>
            out.append(main / DOCS_RELATIVE)
    return out


def docs_root() -> Path:
    """The folder holding ``api.md`` and ``api/``, or :class:`DocsMissing` naming where it looked."""
    tried = _candidates()
    for root in tried:
        if (root / "api.md").is_file() and (root / "api").is_dir():
            return root.resolve()
    raise DocsMissing(
        "The BrainSTEM docs are missing: looked for api.md and api/ in "
        + ", ".join(str(p) for p in tried)
        + ". Put shared/reference/brainstem_docs beside the repository (as CI does) or set BSP_BRAINSTEM_DOCS."
    )


def is_placeholder(value: Any) -> bool:
    """True for the docs' stand-ins for ids: ``"<id>"``, ``"<journal-id>"``, ...

    >>> is_placeholder("<subject-id>"), is_placeholder("session1")
    (True, False)
    """
    return isinstance(value, str) and bool(_PLACEHOLDER.match(value))


@dataclass(frozen=True)
class Example:
    """One documented request, with its response when the page shows one."""

    page: str
    section: str
    call: str
    model: str
    kwargs: dict[str, Any]
    method: str | None
    statuses: tuple[int, ...]
    response: Any = None
    has_response: bool = False
    repairs: tuple[str, ...] = field(default=())
    admin_only: bool = False  # the section says "only administrators can ..."
    lists_meta: str | None = None  # "public" or "all": which list answers the section says carry `meta`
    position: int = 0  # the example's place among its section's examples

    @property
    def id(self) -> Any:
        return self.kwargs.get("id")

    @property
    def portal(self) -> str:
        return str(self.kwargs.get("portal", "private"))

    @property
    def operation(self) -> str:
        """``list``, ``detail``, ``add``, ``change``, ``delete`` or ``action``."""
        if self.kwargs.get("options"):
            return "action"
        if self.call == "delete":
            return "delete"
        if self.call == "save":
            return "change" if self.id is not None else "add"
        return "detail" if self.id is not None else "list"

    @property
    def name(self) -> str:
        """A unique label: ``stem/session.md: Add #0 (add)``."""
        return f"{self.page}: {self.section} #{self.position} ({self.operation})"


# -- lenient literals -------------------------------------------------------------


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(text).readline))


_ENDS_VALUE = {tokenize.STRING, tokenize.NUMBER}
_STARTS_ENTRY = {tokenize.STRING}


def _ends_value(tok: tokenize.TokenInfo) -> bool:
    return tok.type in _ENDS_VALUE or tok.string in ("}", "]", "None", "True", "False")


def _normalise(text: str, repairs: list[str]) -> str:
    """Python-literal text from the docs' JSON or Python examples (see the module docstring)."""
    if re.search(r"(?m)\s//.*$", text):
        text = re.sub(r"(?m)(\s)//.*$", r"\1", text)
        repairs.append("dropped // comments")
    out: list[str] = []
    last: tokenize.TokenInfo | None = None
    for tok in _tokens(text):
        if tok.type in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.ENDMARKER, tokenize.INDENT):
            continue
        if tok.type == tokenize.DEDENT:
            continue
        piece = tok.string
        if tok.type == tokenize.NAME and piece in _JSON_NAMES:
            piece = _JSON_NAMES[piece]
            if "JSON literals" not in repairs:
                repairs.append("JSON literals")
        if last is not None and tok.start[0] > last.end[0] and _ends_value(last) and tok.type in _STARTS_ENTRY:
            out.append(",")
            repairs.append(f"inserted a missing comma before line {tok.start[0]}")
        out.append(piece)
        last = tok if tok.type != tokenize.NAME or piece in ("None", "True", "False") else tok
    return " ".join(out)


def literal(text: str) -> tuple[Any, tuple[str, ...]]:
    """Parse one example body leniently; return the value and the repairs it needed.

    >>> literal("{'a': [1, 2,], 'b': null}")
    ({'a': [1, 2], 'b': None}, ('JSON literals',))
    """
    repairs: list[str] = []
    value = ast.literal_eval(_normalise(text, repairs))
    return value, tuple(repairs)


def _calls(code: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The ``client.load/save/delete`` calls of a request block: (call, model, keyword arguments)."""
    repairs: list[str] = []
    try:
        tree = ast.parse(code)
    except SyntaxError:
        tree = ast.parse(_normalise(code, repairs))
    out = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CALLS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "client"
        ):
            model = ast.literal_eval(node.args[0]) if node.args else ast.literal_eval(node.keywords[0].value)
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg and k.arg != "model"}
            out.append((node.func.attr, str(model), kwargs))
    return out


# -- pages ------------------------------------------------------------------------


def _sections(text: str) -> list[tuple[str, str]]:
    parts = re.split(r"(?m)^## +(.+?)\s*$", text)
    return [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def _meta(body: str) -> tuple[str | None, tuple[int, ...]]:
    method = re.search(r"\*\*Request method:\*\*\s*([A-Z]+)", body)
    responses = re.search(r"\*\*Responses:\*\*(.*)", body)
    codes = tuple(int(c) for c in re.findall(r"`(\d{3})`", responses.group(1))) if responses else ()
    return (method.group(1) if method else None), codes


def _lists_meta(body: str) -> str | None:
    if "Public list responses also include a `meta` object" in body:
        return "public"
    if re.search(r"(?i)(^|approval )list responses (also )?include a `meta` object", body, re.M):
        return "all"
    return None


def parse_section(page: str, section: str, body: str) -> list[Example]:
    """The examples of one ``## `` section, each request paired with the response after it."""
    method, statuses = _meta(body)
    common = {
        "method": method,
        "statuses": statuses,
        "admin_only": bool(re.search(r"(?i)only administrators can (add|change|delete|remove)", body)),
        "lists_meta": _lists_meta(body),
    }
    found: list[tuple[tuple[str, str, dict[str, Any]], dict[str, Any]]] = []
    pending: list[tuple[str, str, dict[str, Any]]] = []
    for block in _FENCE.findall(body):
        calls = _calls(block) if "client." in block else []
        if calls:
            found += [(c, {}) for c in pending]
            pending = calls
            continue
        if not pending:
            continue  # a field-shape illustration, not a response
        value, repairs = literal(block)
        found += [(c, {}) for c in pending[:-1]]
        found.append((pending[-1], {"response": value, "has_response": True, "repairs": repairs}))
        pending = []
    found += [(c, {}) for c in pending]
    return [
        Example(page, section, call, model, kwargs, position=n, **common, **extra)
        for n, ((call, model, kwargs), extra) in enumerate(found)
    ]


def pages(root: Path) -> list[Path]:
    """Every page under ``api/`` (index and schema pages included), sorted."""
    return sorted((root / "api").rglob("*.md"))


def parse_page(root: Path, page: Path) -> list[Example]:
    """Every example of one page (none for index and schema pages)."""
    name = page.relative_to(root / "api").as_posix()
    text = page.read_text("utf-8")
    return [ex for title, body in _sections(text) for ex in parse_section(name, title, body)]


def says_public_lists_have_meta(root: Path, page: str) -> bool:
    """True when the page states that public list responses include a ``meta`` object."""
    return "Public list responses also include a `meta` object" in (root / "api" / page).read_text("utf-8")


def all_examples(root: Path) -> list[Example]:
    """The examples of every page under ``api/``."""
    return [ex for page in pages(root) for ex in parse_page(root, page)]
