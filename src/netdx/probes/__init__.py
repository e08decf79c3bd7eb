"""Probes: the only code that touches the network; each returns evidence values."""
