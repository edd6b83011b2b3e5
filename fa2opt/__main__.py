"""``python -m fa2opt`` = the ``fa2opt`` command."""

import sys

from .cli import main

sys.exit(main())
