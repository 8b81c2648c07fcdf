"""`python -m transformers_bat ...` runs the `transformers-bat` command."""

import sys

from .cli.main import main

sys.exit(main())
