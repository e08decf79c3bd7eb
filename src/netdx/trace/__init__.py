"""`netdx trace`: mtr's report over TCP-SYN, UDP or ICMP echo, every TTL at once per round."""
