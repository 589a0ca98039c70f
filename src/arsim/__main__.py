"""`python -m arsim`: the same as the `arsim` command (for a Python whose scripts folder is not on PATH)."""

import sys

from arsim.cli.main import main

sys.exit(main())
