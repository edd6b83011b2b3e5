"""The comparison (the project's main job): match rate against the optimum, gap, and
decision time of every method on suites of instances.

``fa2opt compare`` and ``scripts/compare_optimal.py`` run :func:`run_compare`: every
method (``milp``, ``fa2``, ``fa2-grid`` at several grid steps, baselines) on every
instance, fanned out over a process pool or a Dask cluster, into a per-instance table,
a summary (Markdown + CSV) and plots. Modules: :mod:`.methods` (labels), :mod:`.suites`
(instances), :mod:`.runner` (workers, executors, resume), :mod:`.table` (judging against
the reference), :mod:`.summary`, :mod:`.plots`, :mod:`.cli`.
"""

from .cli import add_parser, cmd_compare, run_compare
from .methods import MethodSpec, default_methods, parse_method, parse_methods
from .suites import Task, load_suite, load_suites
from .summary import summarize
from .table import annotate

__all__ = ["add_parser", "cmd_compare", "run_compare", "MethodSpec", "default_methods",
           "parse_method", "parse_methods", "Task", "load_suite", "load_suites", "summarize",
           "annotate"]
