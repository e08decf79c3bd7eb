# netdx: every target installs what it needs on a fresh Debian 12 machine (as root).
#   make demo   the payment scenario from the seed story, diagnosed in the lab from both ends (--ssh)
#   make test   lint, types, unit and lab tests (root: the lab uses network namespaces)
#   make bench  netdx against the tools a person would type, on every lab scenario

SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := iproute2 nftables iptables nsd unbound dnsutils iputils-ping netcat-openbsd \
	traceroute openssl curl procps lsof python3 python3-venv python3-dev gcc \
	openssh-client openssh-server sudo prometheus mtr-tiny

.PHONY: demo test bench deps venv lint unit lab clean-lab fuzz fuzz-firewall

demo: venv
	$(BIN)/netdx lab run payment-db-firewall

test: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q tests

unit: venv
	$(BIN)/pytest -q tests/unit

lab: venv
	$(BIN)/pytest -q tests/lab

bench: venv
	$(BIN)/python bench/check.py
	$(BIN)/python bench/dns.py --runs 15
	$(BIN)/pip install -q psutil
	$(BIN)/python bench/sockets.py --sizes 1000 10000 100000 --psutil $(BIN)/python
	$(BIN)/python bench/firewall.py
	$(BIN)/python bench/floor.py --runs 15
	$(BIN)/python bench/ssh.py --repeat 7
	$(BIN)/python bench/trace.py --runs 3
	$(BIN)/python bench/fleet.py

# Every command's arguments and file readers on 20,000 generated hostile inputs, in a network
# namespace of their own with a real sshd on loopback for --ssh (11-16 minutes; `make test`
# runs 600): no internal error, no traceback, no hang, no exit 3. FUZZ_EXAMPLES=N and
# FUZZ_SEED=S change the run.
FUZZ_EXAMPLES ?= 20000
fuzz: venv
	$(BIN)/python tests/fuzz/fuzz_cli.py --examples $(FUZZ_EXAMPLES) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

# The firewall evaluator against the kernel on 10,000 generated nft rulesets and 2,000
# iptables-save ones (about 45 minutes; `make test` runs 80 + 40). A shorter run:
# `make fuzz-firewall FW_EXAMPLES=1000 FW_IPT_EXAMPLES=300`.
FW_EXAMPLES ?= 10000
FW_IPT_EXAMPLES ?= 2000
fuzz-firewall: venv
	NETDX_FW_EXAMPLES=$(FW_EXAMPLES) NETDX_FW_IPT_EXAMPLES=$(FW_IPT_EXAMPLES) $(BIN)/pytest -q -s -p no:cacheprovider \
		tests/lab/test_firewall_kernel.py

clean-lab: venv
	$(BIN)/netdx lab clean

# Debian packages: installed only when one is missing. A policy-rc.d that says no keeps
# the packages' own daemons (nsd, unbound) from starting in the root namespace: the lab
# starts its own copies inside its namespaces.
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		created=0; if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created=1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; rc=$$?; \
		if [ $$created = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; exit $$rc; \
	fi

$(VENV)/.installed: pyproject.toml | deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The model's precomputed dataclass recipes (netdx/model/_methods_*.py: generated, git-ignored,
# ~1 s): made anew on every `make venv`, so a changed dataclass never runs on a stale table.
venv: deps $(VENV)/.installed
	$(BIN)/python tools/precompile_records.py
