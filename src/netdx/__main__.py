"""`python -m netdx`."""

import sys

from netdx.cli import main

sys.exit(main())
