"""`python -m netdx`."""

import sys

from netdx.start import main

sys.exit(main())
