# facesearch — see README.md.
SHELL := /bin/bash
export FACESEARCH_HOME ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/facesearch
GO ?= go
# Packages whose tests run under the race detector (cgo handles, concurrency). internal/server's
# tests are all short handler tests (its browser and load tests are end-to-end tests in e2e/), so
# they run once, raced.
RACE_PKGS := ./internal/faiss/... ./internal/ort/... ./internal/catalog/... ./internal/library/... ./internal/cleanse/... ./internal/server/...
RACE_RE := /internal/(faiss|ort|catalog|library|cleanse|server)(/|$$)
# These run their short tests (every concurrent code path: reloads, pools, the serve backend) under the race detector
# too; their long whole-dataset tests run once, without it (under -race cli alone took 15 minutes on
# 2 cores). internal/embed starts no goroutine of its own (its callers' pools are raced in library
# and cli), so it runs once, without the detector. The end-to-end tests (e2e/: the commands, the
# page in Chromium, the Weaviate cluster) run once, without the detector, with the remainder.
RACE_SHORT_PKGS := ./internal/eval/... ./internal/cli/... ./internal/review/...

.PHONY: setup build test test-short vet demo eval bench clean cluster cluster-server

setup:
	@scripts/setup.sh

build:
	$(GO) build -o bin/facesearch ./cmd/facesearch

vet:
	$(GO) vet ./...

# The Weaviate integration tests need weaviate-server: built once into
# FACESEARCH_HOME/bin (about 10 min the first time), reused afterwards.
test: setup vet cluster-server
	$(GO) test -race -count=1 -timeout 15m $(RACE_PKGS)
	$(GO) test -race -short -count=1 -timeout 15m $(RACE_SHORT_PKGS)
	$(GO) test -count=1 -timeout 15m $$($(GO) list ./... | grep -Ev '$(RACE_RE)')

# The fast tier: no race detector, long tests (whole-dataset evaluations, e2e browser and cluster
# tests) skipped.
# Run it while editing; run 'make test' before committing.
test-short: setup vet
	$(GO) test -short -count=1 -timeout 10m ./...

demo: setup
	@scripts/demo.sh

eval: setup
	@scripts/eval.sh

bench: cluster-server
	@scripts/setup.sh --bench
	@scripts/bench.sh
	@scripts/bench-weaviate.sh

# Opt-in: a 3-node Weaviate cluster on loopback in a private network
# namespace, with a shell inside it (docs/SCALE.md). N=5 for five nodes.
cluster: cluster-server
	@scripts/cluster.sh run $(or $(N),3)

cluster-server:
	@scripts/cluster.sh build

clean:
	rm -rf bin .facesearch
