# pos-resilience: build and test entry points. `make test` on a fresh machine
# installs what it needs (see `make tools`) and runs every test; CI runs it
# through .ci/run. The scripts behind each target live in scripts/.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.NOTPARALLEL:
.DEFAULT_GOAL := help

export PATH := $(HOME)/.cargo/bin:$(PATH)
# The wasm tests call this test server; its URL is compiled into them.
export TEST_SERVER_PORT ?= 8787
export POS_TEST_SERVER ?= http://127.0.0.1:$(TEST_SERVER_PORT)
# Some wasm tests wait on timeouts and backoff (seconds per test binary).
export WASM_BINDGEN_TEST_TIMEOUT ?= 120

# `make help` prints every target that has a `## description` on its rule
# line, in the order of this file; those targets are the phony ones too.
TARGETS := $(shell sed -n 's/^\([a-z0-9-]*\):.*\#\# .*/\1/p' $(MAKEFILE_LIST))
.PHONY: $(TARGETS)

help: ## this list
	@awk -F ':.*## ' '/^[a-z0-9-]+:.*## / { printf "make %-18s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

demo: tools pkg ## build the package and start the demo (reference server + page)
	www-example/scripts/demo.sh

# The demo through HAProxy (round robin, health checks on /readyz) in front of
# CLUSTER_INSTANCES (2) pos-server instances on a throwaway PostgreSQL, on
# http://127.0.0.1:$(CLUSTER_PORT) (8080); Ctrl-C stops it all.
cluster: tools pkg ## the demo through HAProxy, CLUSTER_INSTANCES (2) servers on a throwaway PostgreSQL
	www-example/scripts/cluster.sh

# pkg comes before test-native: the server's test script also checks the demo
# page in Chromium when pkg/ is built.
test: tools pkg test-native model test-support test-wasm test-pkg test-e2e test-soak test-soak-cluster ## every test: native (SQLite and PostgreSQL), model check, test-server self-test, wasm (Chromium, Firefox, WebKit), package smoke, e2e, soak (SQLite; cluster on PostgreSQL)
	@echo "make test: all suites passed"

tools: ## install what is missing (rust target, browsers, wasm-bindgen-cli, geckodriver, npm ci)
	scripts/tools.sh

pkg: tools ## build the npm package into pkg/
	scripts/build-pkg.sh

size: pkg ## the package's wasm and JS sizes (raw, gzip -9, brotli) and twiggy's top items; writes target/size.txt
	scripts/size.sh

test-native: ## cargo tests on the host (SDK pure modules, server), then the demo page when pkg/ is built
	cargo test -p pos-resilience
	www-example/scripts/test-server.sh

# The protocol model (model/README.md): every interleaving within the
# bounds, a few minutes on two cores; the mutants must each be caught.
model: ## model-check the exactly-once protocol with the SDK's own decisions (model/README.md)
	cargo run --release -p pos-model -- check

model-mutants: ## the model's negative controls: each rule turned off must yield a counterexample
	cargo run --release -p pos-model -- mutants

test-support: ## the test server's self-test (node --test)
	node --test tests/support/*.test.mjs

# Every suite in all three engines: Safari-engine IndexedDB is where offline
# queues break in the field. WebKitGTK's driver, xvfb and xauth are installed
# when missing.
test-wasm: tools ## wasm-bindgen tests in headless Chromium, Firefox and WebKitGTK
	TOOLS_WEBKIT=1 scripts/tools.sh
	scripts/test-wasm.sh chrome firefox webkit

test-wasm-chrome: tools ## the wasm-bindgen tests in Chromium only
	scripts/test-wasm.sh chrome

test-wasm-firefox: tools ## the wasm-bindgen tests in Firefox only
	scripts/test-wasm.sh firefox

test-wasm-webkit: ## the wasm-bindgen tests in WebKitGTK only
	TOOLS_WEBKIT=1 scripts/tools.sh
	scripts/test-wasm.sh webkit

test-pkg: pkg ## npm pack pkg/, install the tarball, load it in headless Chromium
	node tests/e2e/pkg-smoke.mjs

test-demo: pkg ## the demo page in headless Chromium against pos-server
	www-example/scripts/test-demo.sh

# The demo-page check through `make cluster` (HAProxy, two instances, PostgreSQL).
test-demo-cluster: tools pkg ## the demo-page check through make cluster (HAProxy, 2 servers, PostgreSQL)
	www-example/scripts/test-cluster.sh

# The cashier's scenarios of docs/spec.md §1 in headless Chromium, through the
# packed package and the demo page, against pos-server (tests/e2e/scenarios/).
test-e2e: tools pkg ## end-to-end cashier scenarios in headless Chromium against pos-server
	scripts/test-e2e.sh

# The chaos soak (tests/soak/README.md): sales through the SDK in several
# tabs against pos-server in chaos mode, reconciled against its database.
test-soak: tools pkg ## chaos soak, 300 sales (part of make test)
	SOAK_N=300 scripts/soak.sh

# The same soak through HAProxy (round robin) to two pos-server instances on a
# throwaway PostgreSQL, chaos on both, reconciled with psql.
test-soak-cluster: tools pkg ## the chaos soak through HAProxy to 2 servers on PostgreSQL, 300 sales (part of make test)
	SOAK_N=300 SOAK_CLUSTER=2 scripts/soak.sh

soak: tools pkg ## the long chaos soak: SOAK_N sales (default 20000)
	SOAK_N=$${SOAK_N:-20000} SOAK_SECONDS=$${SOAK_SECONDS:-780} SOAK_THINK_MS=$${SOAK_THINK_MS:-100} \
	  SOAK_CONCURRENCY=$${SOAK_CONCURRENCY:-4} SOAK_DRAIN_SECONDS=$${SOAK_DRAIN_SECONDS:-600} scripts/soak.sh

# Every benchmark side by side (tests/bench/README.md): prints a table and
# writes target/bench/results.json. BENCH_QUICK=1 for a small run.
bench: tools ## every benchmark side by side (SDK vs fetch, ky, TanStack, raw IndexedDB; size vs peers)
	scripts/bench.sh

bench-queue: tools ## offline-queue benchmark in headless Chromium (tests/bench/README.md)
	scripts/bench-queue.sh

bench-server: ## load test of the reference server (wrk): SQLite, and PostgreSQL with 1, 2 and 4 instances behind HAProxy
	TOOLS_BENCH=1 scripts/tools.sh
	www-example/scripts/bench-server.sh

clean: ## remove pkg/ and target/
	rm -rf pkg
	cargo clean

distclean: clean ## clean, and node_modules/ too
	rm -rf node_modules
