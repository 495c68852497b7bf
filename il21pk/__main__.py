"""``python -m il21pk`` runs the command line."""

import sys

from .cli import main

sys.exit(main())
