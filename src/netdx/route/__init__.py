"""`netdx route`: `ip route get` with the reasons (rule, table, type, next hop, rp_filter)."""
