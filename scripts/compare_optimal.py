#!/usr/bin/env python3
"""Compare every method against the optimum: match rate, gap and decision time.

Thin wrapper of ``fa2opt compare`` (same code, same options), e.g.::

    python scripts/compare_optimal.py --quick --out results/compare
    python scripts/compare_optimal.py --suite regression --methods fa2,fa2-grid-5ms,milp
    python scripts/compare_optimal.py --scheduler tcp://10.0.0.5:8786   # over a Dask cluster
"""

import sys

from fa2opt.cli import main

if __name__ == "__main__":
    sys.exit(main(["compare", *sys.argv[1:]]))
