# tbot: the README's two commands are `make up` (run the fleet, paper mode, sim venues) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PM2 := node_modules/.bin/pm2
export PM2_HOME := $(CURDIR)/.pm2

.PHONY: up down test lint typecheck venv pm2 vendor envs system-test-deps status bench clean reset-paper \
	scale-up scale-down

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

$(PM2): package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

pm2: $(PM2)

# The dashboard's charting library (uPlot, MIT), vendored from npm into the static files: the page loads nothing from
# the internet. The copies are committed with uPlot's LICENSE; this refreshes them from node_modules when
# package.json's pinned version changes (npm install runs through $(PM2) above).
VENDOR := dashboard/static/vendor
UPLOT := node_modules/uplot

vendor: $(PM2)
	@mkdir -p $(VENDOR)
	@for f in dist/uPlot.iife.min.js dist/uPlot.min.css; do \
		cmp -s $(UPLOT)/$$f $(VENDOR)/$$(basename $$f) || cp $(UPLOT)/$$f $(VENDOR)/; done
	@cmp -s $(UPLOT)/LICENSE $(VENDOR)/uPlot.LICENSE || cp $(UPLOT)/LICENSE $(VENDOR)/uPlot.LICENSE

# Real env files are created once from the committed examples and never overwritten.
envs:
	@for example in envs/*.env.example; do \
		target=$${example%.example}; \
		if [ ! -f $$target ]; then cp $$example $$target; chmod 600 $$target; echo "created $$target"; fi; \
	done

up: venv pm2 vendor envs
	@mkdir -p logs/pm2
	$(PM2) start ecosystem.config.js
	@$(PY) -m shared.fleetwait --timeout 60 --env envs/dashboard.env
	@echo "tbot is running in paper mode on sim venues."
	@echo "dashboard: http://127.0.0.1:$$(sed -n 's/^PORT=//p' envs/dashboard.env | tail -1)/  (operator token: see envs/dashboard.env)"
	@echo "operator command: ./tbot (e.g. ./tbot audit pnl --since $$(date -u +%F); ./tbot stop)   status: make status   stop: make down"

status:
	@$(PM2) ls

down:
	-@[ -x $(PM2) ] && $(PM2) delete ecosystem.config.js >/dev/null 2>&1; true
	-@[ -x $(PM2) ] && $(PM2) kill >/dev/null 2>&1; true
	@echo "tbot fleet stopped"

# The feed past one box, tried on one machine (README "Scaling the feed"): three NATS JetStream nodes on loopback,
# st-feed-relay, two feed edges and a round-robin proxy (http://127.0.0.1:8180), from ecosystem.scale.config.js.
# Beside the fleet (`make up`) or without it; `make up` itself never starts any of this.
scale-up: venv pm2 envs
	@command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || \
		{ echo "scale-up needs Debian's nats-server: apt-get install nats-server"; exit 2; }
	@mkdir -p logs/pm2 logs/nats
	@$(PY) -m dashboard.edge.localrig public-key logs/keys/operator_ed25519.pem logs/keys/operator_ed25519.pub.pem
	$(PM2) start ecosystem.scale.config.js
	@$(PY) -m dashboard.edge.localrig wait-healthy 8180 90
	@echo "scaled feed: http://127.0.0.1:8180/api/signals/feed (edges 8181, 8182; NATS 4222-4224)   stop: make scale-down"

scale-down:
	-@[ -x $(PM2) ] && $(PM2) delete ecosystem.scale.config.js >/dev/null 2>&1; true
	@echo "scaled feed stopped (JetStream data stays in logs/nats/)"

# A fresh paper session: the sim replay restarts from its first day. Nothing is deleted: the surfaces' logs and the
# sim venues' memory move to logs/archive/<time>/; the operator key and the subscriber feed data stay.
reset-paper: down
	@stamp=$$(date -u +%Y%m%dT%H%M%SZ); mkdir -p logs/archive/$$stamp; \
	for d in $$($(PY) -m shared.surfaces) sim paper; do [ -e logs/$$d ] && mv logs/$$d logs/archive/$$stamp/; done; \
	rm -f logs/STOP logs/STOP.*; echo "archived the paper session to logs/archive/$$stamp; run make up"

# Browser, Redis and NATS tests need Debian's chromium, redis-server and nats-server; installed here when missing
# (root only). nats-server lives in /usr/sbin, off a non-root PATH: looked for there too.
system-test-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing="$$missing nats-server"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing$$missing from Debian"; \
			apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "note:$$missing missing and not root: those tests will be skipped"; fi; \
	fi

test: venv pm2 vendor system-test-deps
	$(VENV)/bin/ruff check shared surfaces dashboard client tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

lint: venv
	$(VENV)/bin/ruff check shared surfaces dashboard client tests bench

typecheck: venv
	$(VENV)/bin/mypy

bench: venv
	$(VENV)/bin/tbot bench --list

clean: down
	rm -rf $(VENV) node_modules .pm2
