# atonce: a Jupyter kernel for Go.
#
#   make run     install what is missing, build, install the kernelspec, start Jupyter Notebook
#   make test    install what is missing (Chromium, procps, jupyter-server and
#                Node.js too, for the tests; JupyterLab is built once), then
#                gofmt, go vet, staticcheck and go test
#   make bench   Go benchmarks, then every kernel bench script (see BENCH_SCRIPTS)
#   make fuzz    fuzz the Jupyter wire decoder for $(FUZZTIME)
#
# Jupyter is Debian's, run by /usr/bin/python3: a pyenv or virtualenv python3
# earlier on PATH usually has no jupyter. So /usr/bin goes first on PATH,
# right after the Go toolchain's own bin directory (so `go` stays the Go
# that runs make, not a distribution one in /usr/bin).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO_BIN_DIR := $(shell go env GOROOT 2>/dev/null)/bin
export PATH := $(GO_BIN_DIR):/usr/bin:$(PATH)
export GOFLAGS := -buildvcs=false

PYTHON := /usr/bin/python3
BIN := bin/atonce
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME ?= 30s
# Extra flags for `jupyter notebook`, e.g. NOTEBOOK_ARGS='--no-browser --port=8899'.
NOTEBOOK_ARGS ?=
# Bench hook: executable scripts matching these run after the Go benchmarks,
# from the repository root, with ATONCE_BIN set to the freshly built binary.
BENCH_SCRIPTS = $(wildcard kernel/bench*.sh kernel/*/bench*.sh)

.PHONY: build install run test deps deps-test check-go lint bench fuzz clean

check-go:
	@command -v go >/dev/null || { echo "make: go is not on PATH; atonce needs Go 1.26 (https://go.dev/dl)" >&2; exit 1; }

build: check-go
	go build -ldflags "-X main.sourceDir=$(CURDIR)" -o $(BIN) .

install: build
	$(BIN) install --user

deps:
	@bash install/setup-deps.sh

# The tests also need Chromium (notebooks/browser_test.go and lab_test.go
# drive it from Go with chromedp), ps, and JupyterLab (built once from npm's
# packages with Debian's Node.js, served by Debian's jupyter-server); `make
# run` does not, so it keeps to deps.
deps-test:
	@bash install/setup-deps.sh --test

run: deps build
	$(BIN) install --user
	@if [ -x /usr/bin/jupyter ]; then jupyter=(/usr/bin/jupyter notebook); else jupyter=($(PYTHON) -m notebook); fi; \
	echo "Starting Jupyter Notebook on http://127.0.0.1 with notebooks/ (Ctrl-C twice to stop)"; \
	asroot=(); if [ "$$(id -u)" = 0 ]; then asroot=(--allow-root); fi; \
	set -x; exec "$${jupyter[@]}" --notebook-dir=notebooks --ip=127.0.0.1 "$${asroot[@]}" $(NOTEBOOK_ARGS)

lint: check-go
	@echo "== gofmt"; \
	out=$$(find . -name '*.go' -not -path '*/testdata/*' -not -path '*/.*' -print0 | xargs -0 gofmt -l); \
	if [ -n "$$out" ]; then echo "gofmt would change these files (run gofmt -w):"; echo "$$out"; exit 1; fi
	@echo "== go vet"; go vet ./...
	@echo "== staticcheck"; go run $(STATICCHECK) ./...

# ATONCE_REQUIRE_BROWSER: deps-test installed the browser, so the browser
# test must not skip.
test: deps-test build lint
	@echo "== go test"
	ATONCE_BIN=$(CURDIR)/$(BIN) ATONCE_REQUIRE_BROWSER=1 go test -count=1 -timeout 30m ./...

bench: build
	ATONCE_BIN=$(CURDIR)/$(BIN) go test -run '^$$' -bench . ./...
	@for s in $(BENCH_SCRIPTS); do \
		[ -x "$$s" ] || continue; \
		echo "== $$s"; ATONCE_BIN=$(CURDIR)/$(BIN) "./$$s"; \
	done

fuzz: check-go
	go test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./kernel/wire

clean:
	rm -rf bin
