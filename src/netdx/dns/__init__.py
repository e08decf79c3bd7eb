"""`netdx dns`: precise queries, the delegation walk from the root, and the source comparison.

Nothing here imports dnspython at import time; see `netdx.dns.message`.
"""
