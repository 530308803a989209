"""The ``brainstem-pandas`` command.

``brainstem-pandas sandbox``  serve a local BrainSTEM-compatible sandbox
``brainstem-pandas demo``     start a sandbox, read every session, print a summary
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Sequence


def _sandbox_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sandbox", help="serve a local BrainSTEM-compatible sandbox on 127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0 = any free port)")
    p.add_argument("--sessions", type=int, default=1000, help="number of seeded sessions")
    p.add_argument("--seed", type=int, default=0, help="seed of the data and the fault injector")
    p.add_argument("--latency-ms", type=float, default=0.0, help="latency added to every API request")
    p.add_argument("--faults", default="", metavar="KIND=RATE,...",
                   help="fractions of injected faults, e.g. 503=0.1,429=0.05,reset=0.02,truncate=0.01")
    p.add_argument("--envelope", default="count", choices=["count", "meta", "bare"],
                   help="list envelope: count/next/previous, meta.total_results, or bare")
    p.add_argument("--rate-limit", type=int, default=0, help="requests per window per client (0 = off)")
    p.add_argument("--rate-window", type=int, default=60, help="rate-limit window in seconds")
    p.add_argument("--workers", type=int, default=2, help="server worker processes")
    p.add_argument("--no-cache", action="store_true",
                   help="do not keep rendered answers between writes (measure raw Django cost)")


def _demo_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="start a sandbox, read its sessions and print a summary")
    p.add_argument("--sessions", type=int, default=2000, help="number of seeded sessions")


def run_sandbox(args: argparse.Namespace) -> int:
    """Serve a sandbox in the foreground until Ctrl-C."""
    from brainstem_pandas.sandbox import Sandbox
    from brainstem_pandas.sandbox.config import SandboxConfigError, parse_faults

    try:
        faults = parse_faults(args.faults)
        sb = Sandbox(sessions=args.sessions, seed=args.seed, port=args.port, latency_ms=args.latency_ms,
                     faults=faults, envelope=args.envelope, rate_limit=args.rate_limit,
                     rate_window=args.rate_window, workers=args.workers, cache=not args.no_cache)
    except SandboxConfigError as exc:
        print(f"brainstem-pandas sandbox: {exc}", file=sys.stderr)
        return 2
    print(f"Building and starting the sandbox ({args.sessions} sessions)...", flush=True)
    with sb:
        print(f"BrainSTEM sandbox at {sb.url}\n"
              f"  API:       {sb.api_url}\n"
              f"  email:     {sb.email}\n"
              f"  password:  {sb.password}\n"
              f"  token:     {sb.token}\n"
              f"  envelope:  {sb.config.envelope}   faults: {faults or 'none'}   "
              f"latency: {args.latency_ms:g} ms\n"
              "Press Ctrl-C to stop.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            print("\nStopping the sandbox.")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """Start a sandbox, read every session the demo user may see, print a summary."""
    from brainstem_pandas.demo import demo

    return demo(sessions=args.sessions)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``brainstem-pandas``."""
    parser = argparse.ArgumentParser(prog="brainstem-pandas",
                                     description="BrainSTEM metadata into pandas.")
    sub = parser.add_subparsers(dest="command", required=True)
    _sandbox_parser(sub)
    _demo_parser(sub)
    args = parser.parse_args(argv)
    handlers = {"sandbox": run_sandbox, "demo": run_demo}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
