# restorekit: every target is one line; `make help` lists them.
GO ?= go
BIN := bin/restorekit
EXAMPLE ?= examples/three-masters.yaml
FUZZTIME ?= 30s
BENCHCOUNT ?= 5
BENCHSTAT := v0.0.0-20260908200009-22c9c6c9d4da

.PHONY: help build kit test fuzz e2e golden verify bench clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build bin/restorekit
	$(GO) build -trimpath -o $(BIN) ./cmd/restorekit

kit: build ## build the recovery kit for $(EXAMPLE) into kits/ (replaces an earlier one)
	$(BIN) build -i $(EXAMPLE) -o kits --force

test: ## run every test (end-to-end included when run as root with sshd and unshare), then the injection fuzzer for $(FUZZTIME)
	$(GO) test -count=1 -timeout 30m ./... && $(MAKE) fuzz

fuzz: ## prove no inventory value becomes shell code, for $(FUZZTIME)
	$(GO) test -run '^$$' -fuzz '^FuzzNoInjection$$' -fuzztime $(FUZZTIME) ./render

e2e: ## run the end-to-end scenarios against a simulated control plane over real ssh (root)
	$(GO) test -count=1 -timeout 30m -v ./e2e/

golden: ## rewrite golden files after an intended change to the output
	$(GO) test ./render ./inventory ./inventory/importer ./out -update

verify: ## gofmt, go vet and go mod tidy must leave nothing to change
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff

bench: ## benchmarks (medians of $(BENCHCOUNT) runs): lint vs shellcheck, build per example, include-backup memory, recover.sh wall time
	$(GO) test -run '^$$' -bench . -benchtime 3x -count $(BENCHCOUNT) -timeout 60m ./lint ./out ./e2e | tee bench.txt
	$(GO) run golang.org/x/perf/cmd/benchstat@$(BENCHSTAT) bench.txt

clean: ## remove build output and kits
	rm -rf bin kits bench.txt
