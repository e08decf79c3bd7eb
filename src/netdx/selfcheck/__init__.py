"""`netdx self`: the first procedure for "this host cannot reach anything" — loopback,
interfaces, the default gateway, a host beyond it, DNS — and the verdict the method gives.

`evidence` holds the facts (frozen values), `gather` does the I/O (netlink, ICMP echo, DNS
queries) under one budget, `remote` reads the same facts from a server (--ssh), `cli` parses
and renders. The rules that judge them live with every other rule, in
`netdx.diagnose.selfcheck`.
"""
