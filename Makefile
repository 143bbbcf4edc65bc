# restorekit: every target is one line; `make help` lists them.
GO ?= go
BIN := bin/restorekit
EXAMPLE ?= examples/three-masters.yaml
FUZZTIME ?= 30s
BENCHCOUNT ?= 6
BENCHSTAT := v0.0.0-20260908200009-22c9c6c9d4da
# -buildvcs=auto overrides a GOFLAGS=-buildvcs=false, so that `restorekit version` and
# kit.json name the commit built from.
BUILDFLAGS := -trimpath -buildvcs=auto
# Where go install puts restorekit (evaluated only when used).
INSTALLDIR = $(or $(shell $(GO) env GOBIN),$(shell $(GO) env GOPATH)/bin)
# The variables help expands in the descriptions below.
HELPVARS := BIN EXAMPLE FUZZTIME BENCHCOUNT INSTALLDIR
# bash, for pipefail in test.
SHELL := bash

.PHONY: help build install kit test fuzz e2e golden verify bench clean

help: ## list the targets
	@grep -E '^[a-z0-9]+:.*## ' $(firstword $(MAKEFILE_LIST)) | sed $(foreach v,$(HELPVARS),-e 's|$$($(v))|$($(v))|g') | awk -F ':.*## ' '{ printf "  %-8s %s\n", $$1, $$2 }'

build: ## build $(BIN) (run it as $(BIN), or make install)
	$(GO) build $(BUILDFLAGS) -o $(BIN) ./cmd/restorekit

install: ## install restorekit into $(INSTALLDIR), for your PATH
	$(GO) install $(BUILDFLAGS) ./cmd/restorekit
	@echo "installed $(INSTALLDIR)/restorekit"

kit: build ## build the recovery kit for $(EXAMPLE) into kits/ (replaces an earlier one)
	$(BIN) build $(EXAMPLE) -o kits --force

test: ## run every test (end-to-end, one line per scenario, when run as root with sshd and unshare), then the injection fuzzer for $(FUZZTIME)
	$(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v '/e2e$$')
	set -o pipefail; $(GO) test -count=1 -timeout 50m -v ./e2e/ 2>&1 | awk -f e2e/progress.awk
	$(MAKE) fuzz

fuzz: ## prove no inventory value becomes shell code, for $(FUZZTIME)
	$(GO) test -run '^$$' -fuzz '^FuzzNoInjection$$' -fuzztime $(FUZZTIME) ./render

e2e: ## run the end-to-end scenarios against a simulated control plane over real ssh (root)
	$(GO) test -count=1 -timeout 50m -v ./e2e/

golden: ## rewrite golden files after an intended change to the output
	$(GO) test ./render ./inventory ./inventory/importer ./out -update

verify: ## gofmt, go vet and go mod tidy must leave nothing to change
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff

bench: ## benchmarks (medians of $(BENCHCOUNT) runs): lint, and build on the 5-master example with ShellCheck cache cold and warm, vs shellcheck alone; build per example, include-backup memory, recover.sh wall time, snapshot inspection time and memory
	$(GO) test -run '^$$' -bench . -benchtime 3x -count $(BENCHCOUNT) -timeout 60m ./lint ./out ./e2e ./backup | tee bench.txt
	$(GO) run golang.org/x/perf/cmd/benchstat@$(BENCHSTAT) bench.txt

clean: ## remove build output and kits
	rm -rf bin kits bench.txt
