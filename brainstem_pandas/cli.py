"""The ``brainstem-pandas`` command.

``brainstem-pandas sandbox``          serve a local BrainSTEM-compatible sandbox
``brainstem-pandas demo``             start a sandbox, snapshot everything, print a summary
``brainstem-pandas snapshot OUT``     write every readable model (or ``--models``) as a Parquet snapshot
``brainstem-pandas diff A B``         what changed between two snapshots
``brainstem-pandas read MODEL``       one model (filtered) as CSV, JSON or Parquet
``brainstem-pandas nwb SESSION_ID``   one session's metadata as an NWB file (``--out``) or YAML (``--yaml``)
``brainstem-pandas models``           every model: name, app, list key, portals
``brainstem-pandas login``            sign in through the browser and save the token; ``logout`` forgets it

``snapshot`` and ``read`` connect like :func:`brainstem_pandas.connect`: ``--url``
or ``BRAINSTEM_URL``, a token from ``BRAINSTEM_TOKEN`` or the token cache file
(never from the command line, where other users could see it in the process
list); ``read --snapshot PATH`` answers from a snapshot, offline.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from brainstem_pandas._version import __version__
from brainstem_pandas.cli_format import Parser, models_table, run_guarded
from brainstem_pandas.client import Client
from brainstem_pandas.connection import connect, login, logout, server_url
from brainstem_pandas.demo import summary
from brainstem_pandas.errors import ConfigurationError
from brainstem_pandas.progress import overall_progress
from brainstem_pandas.sandbox.config import ENVELOPES


def _sandbox_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sandbox", help="serve a local BrainSTEM-compatible sandbox on 127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0 = any free port)")
    p.add_argument("--sessions", type=int, default=1000, help="number of seeded sessions")
    p.add_argument("--seed", type=int, default=0, help="seed of the data and the fault injector")
    p.add_argument("--latency-ms", type=float, default=0.0, help="latency added to every API request")
    p.add_argument(
        "--faults",
        default="",
        metavar="KIND=RATE,...",
        help="fractions of injected faults, e.g. 503=0.1,429=0.05,reset=0.02,truncate=0.01",
    )
    p.add_argument(
        "--envelope",
        default="count",
        choices=list(ENVELOPES),
        help="list envelope: count/next/previous, meta.total_results, bare, docs (as documented: private "
        "lists bare, public lists with meta) or pages (docs, public lists paginated by page/per_page)",
    )
    p.add_argument("--rate-limit", type=int, default=0, help="requests per window per client (0 = off)")
    p.add_argument("--rate-window", type=int, default=60, help="rate-limit window in seconds")
    p.add_argument("--workers", type=int, default=2, help="server worker processes")
    p.add_argument(
        "--database",
        default="sqlite",
        choices=["sqlite", "postgresql"],
        help="sqlite (embedded) or postgresql (Debian's server, started and removed by the sandbox: "
        "the real service's query semantics)",
    )
    p.add_argument(
        "--no-cache", action="store_true", help="do not keep rendered answers between writes (measure raw Django cost)"
    )
    p.add_argument(
        "--env-file",
        default=None,
        metavar="FILE",
        help="once serving, write BRAINSTEM_URL and BRAINSTEM_TOKEN lines to FILE (mode 0600), "
        "for scripts such as binder/start",
    )


def _demo_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="start a sandbox, snapshot every readable model, print a summary")
    p.add_argument("--sessions", type=int, default=2000, help="number of seeded sessions")
    p.add_argument("--out", default="snapshots/sandbox", help="snapshot folder")


def _connection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", default=None, help="server root (default: BRAINSTEM_URL or https://www.brainstem.org)")
    p.add_argument(
        "--portal",
        default="private",
        choices=["private", "public"],
        help="private (your data; needs a token) or public (anonymous)",
    )
    p.add_argument("--workers", type=int, default=8, help="concurrent page requests")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _snapshot_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("snapshot", help="write every readable model (or --models) as a Parquet snapshot folder")
    p.add_argument("out", help="snapshot folder (created; a previous snapshot there is replaced atomically)")
    p.add_argument("--models", nargs="+", default=None, help="models to snapshot (default: every readable one)")
    p.add_argument(
        "--include",
        nargs="+",
        default=None,
        metavar="[MODEL:]RELATION",
        help="relations to include: with every model, or MODEL:RELATION for one, e.g. session:projects",
    )
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="[MODEL:]FIELD.OP=VALUE",
        help="repeatable; for every model, or MODEL:FIELD.OP=VALUE for one, e.g. session:name.icontains=rat",
    )
    _connection(p)


def _diff_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("diff", help="what changed between two snapshots")
    p.add_argument("a", help="the older snapshot folder")
    p.add_argument("b", help="the newer snapshot folder")
    p.add_argument("--json", action="store_true", help="print every id as JSON instead of a summary")


def _read_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("read", help="one model as CSV, JSON or Parquet (with --include: one file per table)")
    p.add_argument("model", help="model name, e.g. session")
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="FIELD.OP=VALUE",
        help="repeatable, e.g. name.icontains=rat or date_time.gte=2024-01-01; lists for .in are comma-separated",
    )
    p.add_argument(
        "--sort",
        default=None,
        metavar="FIELD,...",
        help="comma-separated fields, - for descending: --sort=-date_time,name",
    )
    p.add_argument("--include", nargs="+", default=None, help="relations to read along (needs --out FOLDER)")
    p.add_argument("--format", default="csv", choices=["csv", "parquet", "json"], help="output format")
    p.add_argument("--out", default=None, help="file (folder with --include); default: standard output")
    p.add_argument("--snapshot", default=None, help="answer from this snapshot folder, offline")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="at most N records (only the pages needed)")
    _connection(p)


def _nwb_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("nwb", help="one session's metadata as an NWB file (--out) or neuroconv's YAML (--yaml)")
    p.add_argument("session_id", help="the session's BrainSTEM id")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--out", default=None, metavar="FILE.nwb", help="write an NWB file (metadata, no data)")
    target.add_argument("--yaml", default=None, metavar="FILE", help="write the metadata as YAML (default: print it)")
    p.add_argument("--subject", default=None, help="the subject's id, for a session that links several")
    p.add_argument("--snapshot", default=None, help="answer from this snapshot folder, offline")
    _connection(p)


def run_nwb(args: argparse.Namespace) -> int:
    """Write one session's NWB metadata as an NWB file or YAML (needs the nwb extra)."""
    from brainstem_pandas import nwb

    metadata = nwb.nwb_metadata(_client(args), args.session_id, subject_id=args.subject)
    if args.out:
        print(f"Wrote {nwb.write_nwb(args.out, metadata)}", file=sys.stderr)
    elif args.yaml:
        print(f"Wrote {nwb.write_yaml(args.yaml, metadata)}", file=sys.stderr)
    else:
        sys.stdout.write(nwb.metadata_yaml(metadata))
    return 0


def _account_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("login", help="sign in through the browser (device flow) and save the token for later runs")
    p.add_argument("--url", default=None, help="server root (default: BRAINSTEM_URL or https://www.brainstem.org)")
    p.add_argument("--no-browser", action="store_true", help="only print the link and the code, open no browser")
    p = sub.add_parser("logout", help="forget the token `login` saved")
    p = sub.add_parser("models", help="every model: name, app, list key and the portals that list it")
    p.add_argument("--portal", default=None, choices=["private", "public"], help="only the models of this portal")


def parse_filters(items: Sequence[str]) -> dict[str, Any]:
    """``["name.icontains=rat", "id.in=a,b"]`` -> ``{"name.icontains": "rat", "id.in": ["a", "b"]}``.

    Examples
    --------
    >>> parse_filters(["is_public=true", "id.in=a,b", "description.isnull=false"])
    {'is_public': 'true', 'id.in': ['a', 'b'], 'description.isnull': False}
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigurationError(f"--filter {item!r}: write FIELD.OP=VALUE, e.g. name.icontains=rat.")
        if not value:  # an empty match is rarely meant: a value was left out (or lost to the shell)
            raise ConfigurationError(
                f"--filter {item!r} has no value after '='; write FIELD.OP=VALUE, e.g. name.icontains=rat "
                f"(or {key.rpartition('.')[0] or key}.isnull=true for a missing value)."
            )
        operator = key.rpartition(".")[2]
        if operator == "in":
            out[key] = [v for v in value.split(",") if v]
        elif operator == "isnull":
            if value.lower() not in ("true", "false"):
                raise ConfigurationError(f"--filter {item!r}: isnull takes true or false.")
            out[key] = value.lower() == "true"
        else:
            out[key] = value
    return out


def parse_include(items: Sequence[str] | None) -> Any:
    """``["projects"]`` stays a list for every model; ``["session:projects"]`` becomes ``{"session": ["projects"]}``.

    Examples
    --------
    >>> parse_include(["session:projects", "session:behaviors", "subject:strain"])
    {'session': ['projects', 'behaviors'], 'subject': ['strain']}
    """
    if not items:
        return None
    scoped = [item for item in items if ":" in item]
    if not scoped:
        return list(items)
    if len(scoped) != len(items):
        raise ConfigurationError("--include: give every relation as MODEL:RELATION, or none of them.")
    out: dict[str, list[str]] = {}
    for item in items:
        model, _, relation = item.partition(":")
        out.setdefault(model, []).append(relation)
    return out


def _client(args: argparse.Namespace) -> Client:
    if getattr(args, "snapshot", None):
        return connect(snapshot=args.snapshot, progress=not args.quiet)
    return connect(args.url, portal=args.portal, workers=args.workers, progress=not args.quiet)


def parse_scoped_filters(items: Sequence[str]) -> dict[str, Any] | None:
    """``--filter`` of ``snapshot``: for every model, or ``MODEL:FIELD.OP=VALUE`` for one.

    Examples
    --------
    >>> parse_scoped_filters(["session:name.icontains=rat", "subject:sex=M"])
    {'session': {'name.icontains': 'rat'}, 'subject': {'sex': 'M'}}
    >>> parse_scoped_filters(["is_public=true"])
    {'is_public': 'true'}
    """
    if not items:
        return None
    scoped = [item for item in items if ":" in item.partition("=")[0]]
    if not scoped:
        return parse_filters(items)
    if len(scoped) != len(items):
        raise ConfigurationError("--filter: give every filter as MODEL:FIELD.OP=VALUE, or none of them.")
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        model, _, rest = item.partition(":")
        out.setdefault(model, {}).update(parse_filters([rest]))
    return out


def run_snapshot(args: argparse.Namespace) -> int:
    """Write a snapshot and print a table of what it holds."""
    client = _client(args)
    filters = parse_scoped_filters(args.filter)
    names = args.models or client.readable_models(args.portal)
    with overall_progress(len(names), "snapshot", disable=args.quiet):  # one bar for all; each model's passes
        manifest = client.snapshot(args.out, models=args.models, include=parse_include(args.include), filters=filters)
    print(summary(manifest, args.out))
    return 0


def run_diff(args: argparse.Namespace) -> int:
    """Print what changed between two snapshots."""
    from brainstem_pandas.diff import diff_snapshots

    diff = diff_snapshots(args.a, args.b)
    if args.json:
        print(json.dumps(diff, indent=2))
        return 0
    if not diff:
        print("No differences.")
        return 0
    for model, change in diff.items():
        print(
            f"{model}: {len(change['added'])} added, {len(change['removed'])} removed, {len(change['changed'])} changed"
        )
        for rid, columns in list(change["changed"].items())[:10]:
            print(f"  {rid}: {', '.join(columns)}")
        if len(change["changed"]) > 10:
            print(f"  ... and {len(change['changed']) - 10} more (--json for all)")
    return 0


def run_read(args: argparse.Namespace) -> int:
    """Read one model and write it as CSV, JSON or Parquet."""
    filters = parse_filters(args.filter)
    if args.include and not args.out:
        raise ConfigurationError("--include writes one file per table: give --out FOLDER.")
    if args.format == "parquet" and not args.out:
        raise ConfigurationError("Parquet is binary: give --out FILE.")
    sort = [key for key in (args.sort or "").split(",") if key]
    client = _client(args)
    if args.include:
        lf = client.read_linked(args.model, include=args.include, filters=filters, sort=sort)
        folder = Path(args.out)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _cannot_write(folder, exc) from None
        for name, frame in lf.to_dict().items():
            _write(frame, args.format, folder / f"{name}.{args.format}", name)
        print(f"Wrote {len(lf.to_dict())} tables to {folder}", file=sys.stderr)
        return 0
    # limit= only when given: the option is read by Client.read (pages fetched only as far as needed).
    frame = client.read(args.model, filters=filters, sort=sort, **({} if args.limit is None else {"limit": args.limit}))
    _write(frame, args.format, Path(args.out) if args.out else None, args.model)
    if args.out:
        print(f"Wrote {len(frame):,} {args.model} records to {args.out}", file=sys.stderr)
    return 0


def _write(frame: Any, fmt: str, path: Path | None, model: str | None = None) -> None:
    # Written next to the target and renamed, so a failure never leaves half a file. Nested cells are JSON,
    # and rich-text fields of ``model`` gain a plain-text column (frames.export).
    from brainstem_pandas.frames.export import export_csv, export_json

    text = ""
    if fmt == "csv":
        text = export_csv(frame, model)
    elif fmt == "json":
        text = export_json(frame, model)
    if path is None:
        sys.stdout.write(text)
        return
    tmp = path.with_name(f".{path.name}.partial")
    try:
        if fmt == "parquet":
            _parquet_ready(frame).to_parquet(tmp)
        else:
            tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise _cannot_write(path, exc) from None


def _cannot_write(path: Path, exc: OSError) -> ConfigurationError:
    return ConfigurationError(
        f"Cannot write {path}: {exc.strerror or exc}. Choose an --out path you can write to, in a folder that exists."
    )


def _parquet_ready(frame: Any) -> Any:
    """``frame`` with object columns Parquet cannot type (mixed JSON objects) as JSON text."""
    import pandas as pd
    import pyarrow as pa

    out = frame.copy()
    for name in out.columns:
        kind = out[name].dtype
        if isinstance(kind, pd.ArrowDtype) and pa.types.is_nested(kind.pyarrow_dtype):
            # Stored as plain lists: pandas cannot read a list<...>[pyarrow] dtype back from the file's metadata.
            out[name] = pd.Series(out[name].tolist(), index=out.index, dtype=object)
    for name in [c for c in out.columns if out[c].dtype == "object"]:
        try:
            pa.array(out[name].tolist())
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            out[name] = [None if v is None else json.dumps(v, sort_keys=True, default=str) for v in out[name]]
    return out


def write_env_file(path: Path, values: dict[str, str]) -> None:
    """``NAME=value`` lines, readable by the owner only, renamed into place whole (a reader never sees half)."""
    tmp = path.with_name(f".{path.name}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.writelines(f"{name}={value}\n" for name, value in values.items())
    os.replace(tmp, path)


def run_sandbox(args: argparse.Namespace) -> int:
    """Serve a sandbox in the foreground until Ctrl-C."""
    from brainstem_pandas.sandbox import Sandbox
    from brainstem_pandas.sandbox.config import SandboxConfigError, parse_faults

    try:
        faults = parse_faults(args.faults)
        sb = Sandbox(
            sessions=args.sessions,
            seed=args.seed,
            port=args.port,
            latency_ms=args.latency_ms,
            faults=faults,
            envelope=args.envelope,
            rate_limit=args.rate_limit,
            rate_window=args.rate_window,
            workers=args.workers,
            cache=not args.no_cache,
            database=args.database,
        )
    except SandboxConfigError as exc:
        print(f"brainstem-pandas sandbox: {exc}", file=sys.stderr)
        return 2
    print(f"Building and starting the sandbox ({args.sessions} sessions)...", flush=True)
    with sb:
        print(
            f"BrainSTEM sandbox at {sb.url}\n"
            f"  API:       {sb.api_url}\n"
            f"  email:     {sb.email}\n"
            f"  password:  {sb.password}\n"
            f"  token:     {sb.token}\n"
            f"  envelope:  {sb.config.envelope}   faults: {faults or 'none'}   "
            f"latency: {args.latency_ms:g} ms\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        if args.env_file:
            write_env_file(
                Path(args.env_file),
                {"BRAINSTEM_URL": sb.url, "BRAINSTEM_TOKEN": sb.token, "BRAINSTEM_SANDBOX_PID": str(os.getpid())},
            )
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            print("\nStopping the sandbox.")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """Start a sandbox, snapshot every model the demo user may read, print a summary."""
    from brainstem_pandas.demo import demo

    return demo(sessions=args.sessions, out=args.out)


def run_login(args: argparse.Namespace) -> int:
    """Sign in through the browser and save the token where ``connect()`` (and the official tools) find it."""
    url = server_url(args.url)
    login(url, remember=True, open_browser=not args.no_browser)
    print(f"Signed in to {url}; the token is saved (readable only by you) for later commands.", file=sys.stderr)
    return 0


def run_logout(args: argparse.Namespace) -> int:
    """Forget the saved token."""
    from brainstem_pandas.auth import token_file

    removed = logout()
    print(f"{'Removed' if removed else 'No saved token at'} {token_file()}.", file=sys.stderr)
    if os.environ.get("BRAINSTEM_TOKEN") or os.environ.get("BRAINSTEM_API_TOKEN"):
        print("BRAINSTEM_TOKEN (or BRAINSTEM_API_TOKEN) is still set in this shell: unset it too.", file=sys.stderr)
    return 0


def run_models(args: argparse.Namespace) -> int:
    """Print every catalogued model (of ``--portal``)."""
    print(models_table(args.portal))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``brainstem-pandas``."""
    parser = Parser(prog="brainstem-pandas", description="BrainSTEM metadata into pandas.")
    parser.add_argument("--version", action="version", version=f"brainstem-pandas {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    _sandbox_parser(sub)
    _demo_parser(sub)
    _snapshot_parser(sub)
    _diff_parser(sub)
    _read_parser(sub)
    _nwb_parser(sub)
    _account_parsers(sub)
    args = parser.parse_args(argv)
    handlers = {"sandbox": run_sandbox, "demo": run_demo, "snapshot": run_snapshot, "diff": run_diff, "read": run_read}
    handlers.update({"login": run_login, "logout": run_logout, "models": run_models, "nwb": run_nwb})
    return run_guarded(args.command, lambda: handlers[args.command](args))


if __name__ == "__main__":
    sys.exit(main())
