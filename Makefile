# leasecron — every target runs the project's pinned Node 24 (node_modules/.bin/node,
# from the `node` npm package), never the machine's own Node.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup test test-unit chaos fuzz lint build
.DEFAULT_GOAL := help

help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

node_modules/.stamp: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed once to fetch the pinned Node 24 and the dependencies"; exit 1; }
	npm ci --no-audit --no-fund
	@node scripts/check-node.mjs
	@touch $@

setup: node_modules/.stamp ## install dependencies (incl. Node 24) and provision the test stack into ~/.cache/leasecron
	bash scripts/provision-stack.sh all >/dev/null

test: setup ## typecheck, lint, import cycles, unit + integration tests against the real stack, then make fuzz (~1 min)
	npm test
	node scripts/fuzz.ts

test-unit: node_modules/.stamp ## unit tests only (no servers)
	vitest run --project unit

chaos: setup ## the chaos suite alone (faults against 3 replicas, judged at a webhook sink); prints a table
	vitest run --project int test/chaos/

fuzz: node_modules/.stamp ## schemathesis against /openapi.json of a replica on the local stack: no 5xx, answers as documented (ARGS=--max-examples=N)
	node scripts/fuzz.ts $(ARGS)

lint: node_modules/.stamp ## Biome lint + format check (includes the import-cycle rule)
	biome check .

# dist/ is compiled again only when a source it is built from (src/ without unit tests, the
# tsconfigs, the lock file) is newer than the stamp of the last build: a warm `make local-up`
# skips tsc (~3 s on 2 cores).
DIST_SOURCES := $(shell find src -type f ! -name '*.test.ts') tsconfig.json tsconfig.build.json package-lock.json
dist/.stamp: $(DIST_SOURCES) node_modules/.stamp
	@echo "build: compiling src/ to dist/ (changed since the last build)"
	@t0=$$(date +%s%N); npm run -s build; echo "build: dist/ compiled in $$(( ($$(date +%s%N) - t0) / 1000000 )) ms"
	@touch $@

build: dist/.stamp ## compile TypeScript to dist/ (skipped when dist/ is newer than every source)

# Cluster (kind) and local (process) demo targets live beside this file.
-include mk/*.mk
