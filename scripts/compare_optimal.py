#!/usr/bin/env python3
"""Compare every method against the optimum: match rate, gap and decision time.

Thin wrapper of ``fa2opt compare`` (same code, same options), e.g.::

    python scripts/compare_optimal.py --quick --out results/compare
    python scripts/compare_optimal.py --suite regression --methods fa2,fa2-grid-5ms,milp
    python scripts/compare_optimal.py --scheduler tcp://10.0.0.5:8786   # over a Dask cluster
"""

import sys
from pathlib import Path

# this checkout's code, whatever fa2opt is installed (as the other scripts do)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fa2opt.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["compare", *sys.argv[1:]]))
