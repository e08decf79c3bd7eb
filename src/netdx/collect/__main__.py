"""`python3 -m netdx.collect` and the bundle's entry point: print one collect document."""

import sys

from netdx.collect.document import main

sys.exit(main())
