"""`netdx dns`: precise queries, the delegation walk from the root, and the source comparison.

The wire codec (`message`) and the one DNS transport (`query`) are netdx's own, stdlib only;
resolv.conf is read by `resolvconf`. The rules that judge what came back live in
`netdx.diagnose.dns_trace` and `netdx.diagnose.dns_compare`.
"""
