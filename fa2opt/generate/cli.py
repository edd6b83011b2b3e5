"""The ``fa2opt generate`` subcommand (registered by :mod:`fa2opt.cli` through
:func:`add_parser`)."""

from __future__ import annotations

import argparse
import sys

from ..cli import integer
from ..extensions.realistic import EXTENSION_SETS
from .suites import MAX_COUNT, SUITES, write_suite


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``generate`` subcommand to the ``fa2opt`` parser."""
    p = subparsers.add_parser(
        "generate", help="write a synthetic instance suite",
        description="Write COUNT synthetic instances of suite NAME into DIR (deterministic "
                    "for SEED), with manifest.csv and README.md.")
    p.add_argument("--suite", required=True, choices=list(SUITES), metavar="NAME",
                   help="one of: " + ", ".join(SUITES))
    p.add_argument("--count", required=True, type=integer, metavar="N",
                   help=f"1 to {MAX_COUNT}")
    p.add_argument("--seed", type=integer, default=0, metavar="S", help="default 0")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--extensions", choices=list(EXTENSION_SETS), metavar="SET",
                   help="add the extension keys a real deployment would have (spec, "
                        "Extensions): one of " + ", ".join(EXTENSION_SETS))
    p.add_argument("--force", action="store_true",
                   help="replace generated files already in DIR")
    p.set_defaults(func=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    """Write the suite; 0 on success, 2 (one line on stderr) on a bad argument or output."""
    if not 1 <= args.count <= MAX_COUNT:
        print(f"--count: must be an integer in [1, {MAX_COUNT}] (got {args.count})",
              file=sys.stderr)
        return 2
    if args.seed < 0:
        print(f"--seed: must be >= 0 (got {args.seed})", file=sys.stderr)
        return 2
    try:
        generated = write_suite(args.suite, args.count, args.seed, args.out, force=args.force,
                                extensions=args.extensions)
    except OSError as exc:
        print(f"{args.out}: --out: cannot write ({exc.strerror or exc})", file=sys.stderr)
        return 2
    n_inf = sum(not g.feasible for g in generated)
    print(f"wrote {len(generated)} instances of suite {args.suite} (seed {args.seed}, "
          f"{n_inf} infeasible) to {args.out}")
    return 0
