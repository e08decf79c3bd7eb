"""``python -m netdx.lab``: the lab commands without the rest of the netdx CLI."""

from netdx.lab.cli import main

main()
