"""What every plot module shares: pyplot on the Agg backend (files only, no display), and
text drawn as written.

Labels, titles, legends and tick labels carry user data (instance, flow, node, suite and
method names). Matplotlib reads a pair of ``$`` in a text as mathtext and raises on what it
cannot parse (``a$\\foo{$b``: "Unknown symbol"), after the whole run; with ``text.usetex``
set in a user's matplotlibrc it would hand the text to LaTeX. :func:`literal_text` turns
both off while a plot function runs, so a name is drawn literally (the plots use no math)."""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

LITERAL_TEXT = {"text.parse_math": False, "text.usetex": False}


def pyplot() -> Any:
    """``matplotlib.pyplot``, on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def literal_text(fn: F) -> F:
    """Run ``fn`` (a function that makes and saves figures) with :data:`LITERAL_TEXT` in
    force: a text object takes the setting when made, tick labels when drawn, so the
    figure must be made and saved inside ``fn``. Matplotlib's other settings, the user's
    included, are left as they are (``rc_context`` restores them afterwards)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context(LITERAL_TEXT), warnings.catch_warnings():
            # a character the font lacks (a NUL, a control character in a name) is drawn
            # as a box; matplotlib's two-line warning about it is noise on stderr
            warnings.filterwarnings("ignore", r"Glyph \d+ .* missing from font", UserWarning)
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
