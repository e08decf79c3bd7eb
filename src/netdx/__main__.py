"""`python -m netdx`."""

import sys

from netdx.start import run

sys.exit(run())
