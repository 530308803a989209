"""What the ``brainstem-pandas`` command prints besides data: help, errors in shell words, the models table.

Kept apart from :mod:`brainstem_pandas.cli`, whose command table stays short: the help
formatter (defaults shown, the environment variables listed), the one-line error with the
exit codes a shell expects, and the wording that turns the library's advice (``bsp.login()``,
``token=...``) into the command's own (``brainstem-pandas login``, ``BRAINSTEM_TOKEN``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable

from brainstem_pandas import catalog
from brainstem_pandas.errors import BrainstemError

# Exit codes as shells read them: 1 an error, 130 interrupted by Ctrl-C (128 + SIGINT),
# 141 the reader of standard output went away (128 + SIGPIPE, as `yes | head` reports).
ERROR, INTERRUPTED, CLOSED_PIPE = 1, 130, 141

ENVIRONMENT = """\
environment:
  BRAINSTEM_URL        server root (default https://www.brainstem.org)
  BRAINSTEM_TOKEN      personal access token (also read: BRAINSTEM_API_TOKEN, the official CLI's name)
  token file           ~/.config/brainstem/token, written by `brainstem-pandas login` (mode 0600)
sign-in: a personal access token (BRAINSTEM_TOKEN) or the browser sign-in (`brainstem-pandas login`); email and
  password is a legacy method (servers with two-factor sign-in, such as brainstem.org, refuse it), from Python only.
A token is never taken from the command line, where other users could read it in the process list."""

# The library's advice names Python calls; from the shell the same advice is a command or a variable.
SHELL_WORDS = (
    ("sign in once with bsp.login()", "sign in once with `brainstem-pandas login`"),
    ("run `bsp.login()`", "run `brainstem-pandas login`"),
    ("bsp.login()", "`brainstem-pandas login`"),
    ("Pass token=..., set BRAINSTEM_TOKEN", "Set BRAINSTEM_TOKEN"),
    ("connect with a personal access token (bsp.connect(token=...))", "set BRAINSTEM_TOKEN to a personal access token"),
    ("bsp.connect(token=...)", "BRAINSTEM_TOKEN"),
    ("use portal='public'", "use --portal public"),
    ("portal='public'", "--portal public"),
    ("pass a larger max_body to the Transport", "read fewer records at a time (--limit)"),
)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help that shows each option's default (when it has one worth showing) and keeps the epilog's lines."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" in text
            or not action.option_strings
            or default in (None, False, [], argparse.SUPPRESS)
            or isinstance(action, argparse._VersionAction)
        ):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An argument parser with :class:`HelpFormatter` and the environment variables under every help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("epilog", ENVIRONMENT)
        super().__init__(*args, **kwargs)


def in_shell_words(text: str) -> str:
    """``text`` with the library's Python advice in the command's words, on one line.

    Examples
    --------
    >>> in_shell_words("No token found. Pass token=..., set BRAINSTEM_TOKEN, sign in once with\\n"
    ...                "bsp.login(), or use portal='public'.")
    'No token found. Set BRAINSTEM_TOKEN, sign in once with `brainstem-pandas login`, or use --portal public.'
    """
    text = " ".join(text.split())
    for python, shell in SHELL_WORDS:
        text = text.replace(python, shell)
    return text


def run_guarded(command: str, handler: Callable[[], int]) -> int:
    """Run ``handler``; errors as one line on standard error, Ctrl-C and a closed pipe as their exit codes."""
    try:
        code = handler()
        sys.stdout.flush()  # here, so that a reader gone away is seen inside the guard
        return code
    except BrokenPipeError:
        _silence_stdout()
        return CLOSED_PIPE
    except KeyboardInterrupt:
        print(f"\nbrainstem-pandas {command}: interrupted; nothing more was read or written.", file=sys.stderr)
        return INTERRUPTED
    except BrainstemError as exc:
        print(f"brainstem-pandas {command}: {in_shell_words(str(exc))}", file=sys.stderr)
        return ERROR
    except OSError as exc:  # a file or folder the command could not use: said as the system says it
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"brainstem-pandas {command}:{where} {exc.strerror or exc}", file=sys.stderr)
        return ERROR


def _silence_stdout() -> None:
    # Python flushes stdout again at exit, and would print a second BrokenPipeError: point it at /dev/null.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def models_table(portal: str | None = None) -> str:
    """Every catalogued model with its app, list key and the portals it can be listed on, as text.

    Examples
    --------
    >>> models_table().splitlines()[0].split()
    ['model', 'app', 'list', 'key', 'portals']
    >>> "session" in models_table("public") and "project_membership_invitation" not in models_table("public")
    True
    """
    rows = [
        (m.name, m.app, m.list_key or "", ", ".join(m.portals.get("list", ())))
        for m in catalog.all_models().values()
        if portal is None or portal in m.portals.get("list", ())
    ]
    heading = ("model", "app", "list key", "portals")
    widths = [max(len(str(r[i])) for r in [heading, *rows]) for i in range(len(heading))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip() for row in [heading, *rows]]
    return "\n".join(lines)
