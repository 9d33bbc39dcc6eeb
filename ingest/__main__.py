"""`python -m ingest PATH...`: the same command as `partnerbot ingest`."""

import sys

from .cli import main

sys.exit(main())
