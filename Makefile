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

.PHONY: help tools pkg size test test-native test-support test-wasm test-wasm-chrome \
        test-wasm-firefox test-wasm-webkit model model-mutants test-pkg test-demo test-e2e test-soak test-soak-cluster soak demo cluster test-demo-cluster bench bench-server bench-queue clean distclean

help:
	@echo "make demo          build the package and start the demo (server + page)"
	@echo "make cluster       the demo on a throwaway PostgreSQL, CLUSTER_INSTANCES (2) servers behind HAProxy"
	@echo "make test          every test: native, model check, test-server self-test, wasm (Chromium, Firefox, WebKit), package smoke, e2e, soak (SQLite; cluster on PostgreSQL)"
	@echo "make tools         install what is missing (rust target, browsers, wasm-bindgen-cli, geckodriver, npm ci)"
	@echo "make pkg           build the npm package into pkg/"
	@echo "make size          print the package's wasm and JS sizes (raw, gzip -9); writes target/size.txt"
	@echo "make test-native   cargo tests on the host (SDK pure modules, server)"
	@echo "make model         model-check the exactly-once protocol with the SDK's own decisions (model/README.md)"
	@echo "make model-mutants the model's negative controls: each rule turned off must yield a counterexample"
	@echo "make test-wasm     wasm-bindgen tests in headless Chromium, Firefox and WebKitGTK (one engine: test-wasm-chrome, -firefox, -webkit)"
	@echo "make test-pkg      npm pack pkg/, install the tarball, load it in headless Chromium"
	@echo "make test-demo     the demo page in headless Chromium against pos-server"
	@echo "make test-demo-cluster  the same check through make cluster (HAProxy, 2 servers, PostgreSQL)"
	@echo "make test-e2e      end-to-end cashier scenarios in headless Chromium against pos-server"
	@echo "make bench-server  load test of the reference server"
	@echo "make test-soak     chaos soak, 300 sales (part of make test); make soak: SOAK_N=20000"
	@echo "make test-soak-cluster  the chaos soak through HAProxy to 2 servers on PostgreSQL, 300 sales (part of make test)"
	@echo "make bench         every benchmark side by side (SDK vs fetch, ky, raw IndexedDB; size vs peers)"
	@echo "make bench-queue   offline-queue benchmark in headless Chromium (tests/bench/README.md)"
	@echo "make clean         remove pkg/ and target/ (distclean: node_modules/ too)"

tools:
	scripts/tools.sh

pkg: tools
	scripts/build-pkg.sh

size: pkg
	scripts/size.sh

# pkg comes before test-native: the server's test script also checks the demo
# page in Chromium when pkg/ is built.
test: tools pkg test-native model test-support test-wasm test-pkg test-e2e test-soak test-soak-cluster
	@echo "make test: all suites passed"

test-native:
	cargo test -p pos-resilience
	@if [ -x www-example/scripts/test-server.sh ]; then \
	  www-example/scripts/test-server.sh; \
	else \
	  echo "test-native: www-example/scripts/test-server.sh not found; running cargo test -p pos-server"; \
	  cargo test -p pos-server; \
	fi

# The protocol model (model/README.md): every interleaving within the
# bounds, a few minutes on two cores; the mutants must each be caught.
model:
	cargo run --release -p pos-model -- check

model-mutants:
	cargo run --release -p pos-model -- mutants

test-support:
	node --test tests/support/*.test.mjs

# Every suite in all three engines: Safari-engine IndexedDB is where offline
# queues break in the field. WebKitGTK's driver, xvfb and xauth are installed
# when missing.
test-wasm: tools
	TOOLS_WEBKIT=1 scripts/tools.sh
	scripts/test-wasm.sh chrome firefox webkit

test-wasm-chrome: tools
	scripts/test-wasm.sh chrome

test-wasm-firefox: tools
	scripts/test-wasm.sh firefox

test-wasm-webkit:
	TOOLS_WEBKIT=1 scripts/tools.sh
	scripts/test-wasm.sh webkit

test-pkg: pkg
	node tests/e2e/pkg-smoke.mjs

test-demo: pkg
	www-example/scripts/test-demo.sh

# The demo-page check through `make cluster` (HAProxy, two instances, PostgreSQL).
test-demo-cluster: tools pkg
	www-example/scripts/test-cluster.sh

# The cashier's scenarios of docs/spec.md §1 in headless Chromium, through the
# packed package and the demo page, against pos-server (tests/e2e/scenarios/).
test-e2e: tools pkg
	scripts/test-e2e.sh

demo: tools pkg
	@[ -x www-example/scripts/demo.sh ] || { echo "demo: www-example/scripts/demo.sh does not exist yet" >&2; exit 1; }
	www-example/scripts/demo.sh

# The demo through HAProxy (round robin, health checks on /readyz) in front of
# CLUSTER_INSTANCES (2) pos-server instances on a throwaway PostgreSQL, on
# http://127.0.0.1:$(CLUSTER_PORT) (8080); Ctrl-C stops it all.
cluster: tools pkg
	www-example/scripts/cluster.sh

bench-server:
	TOOLS_BENCH=1 scripts/tools.sh
	@[ -x www-example/scripts/bench-server.sh ] || { echo "bench-server: www-example/scripts/bench-server.sh does not exist yet" >&2; exit 1; }
	www-example/scripts/bench-server.sh

bench-queue: tools
	scripts/bench-queue.sh

# The chaos soak (tests/soak/README.md): sales through the SDK in several
# tabs against pos-server in chaos mode, reconciled against its database.
# make test runs 300 sales; `make soak` runs SOAK_N (default 20000).
test-soak: tools pkg
	SOAK_N=300 scripts/soak.sh

# The same soak through HAProxy (round robin) to two pos-server instances on a
# throwaway PostgreSQL, chaos on both, reconciled with psql.
test-soak-cluster: tools pkg
	SOAK_N=300 SOAK_CLUSTER=2 scripts/soak.sh

soak: tools pkg
	SOAK_N=$${SOAK_N:-20000} SOAK_SECONDS=$${SOAK_SECONDS:-780} SOAK_THINK_MS=$${SOAK_THINK_MS:-100} \
	  SOAK_CONCURRENCY=$${SOAK_CONCURRENCY:-4} SOAK_DRAIN_SECONDS=$${SOAK_DRAIN_SECONDS:-600} scripts/soak.sh

# Every benchmark side by side (tests/bench/README.md): prints a table and
# writes target/bench/results.json. BENCH_QUICK=1 for a small run.
bench: tools
	scripts/bench.sh

clean:
	rm -rf pkg
	cargo clean

distclean: clean
	rm -rf node_modules
