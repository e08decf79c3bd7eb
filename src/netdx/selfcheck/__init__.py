"""`netdx self`: the first procedure for "this host cannot reach anything" — loopback,
interfaces, the default gateway, a host beyond it, DNS — and the verdict the method gives.

`evidence` holds the facts (frozen values), `verdict` judges them (pure), `gather` does the
I/O (netlink, ICMP echo, DNS queries) under one budget, `cli` parses and renders.
"""
