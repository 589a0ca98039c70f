"""`python -m arsim.cli`: the same as the `arsim` command."""

import sys

from arsim.cli.main import main

sys.exit(main())
