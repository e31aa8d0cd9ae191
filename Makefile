# tana — see README.md. `make demo` runs the embedded default, `make test` the suite.
GO      ?= go
BIN     ?= bin/tana
PKGS    ?= ./...
STATICCHECK_VERSION ?= v0.8.2
GOLANGCI_LINT_VERSION ?= v2.15.0

.PHONY: build test bench bench-ansible lint demo clean vendor screenshots

# tana version (and /healthz) report these; a plain go build falls back to
# the module and VCS information Go records.
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT     ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS    := -X github.com/tana-cmdb/tana/version.version=$(VERSION) -X github.com/tana-cmdb/tana/version.commit=$(COMMIT) -X github.com/tana-cmdb/tana/version.buildDate=$(BUILD_DATE)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/tana

# The whole suite: SQLite and PostgreSQL (TANA_TEST_POSTGRES, default the local
# trust-auth server), the govmomi simulator, a real named, a real slapd, real ansible-inventory;
# then each fuzz target for a few seconds (seeds in testdata/fuzz/).
test:
	$(GO) test -count=1 -timeout 20m $(PKGS)
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 3s ./config
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 3s ./inventory/itemfile
	$(GO) test -run '^$$' -fuzz '^FuzzCheckQuery$$' -fuzztime 5s ./server
	$(GO) test -run '^$$' -fuzz '^FuzzParseLogin$$' -fuzztime 3s ./server
	$(GO) test -run '^$$' -fuzz '^FuzzParseQuery$$' -fuzztime 3s ./inventory/ansible
	$(GO) test -run '^$$' -fuzz '^FuzzCheckPassword$$' -fuzztime 3s ./access
	$(GO) test -run '^$$' -fuzz '^FuzzSafeNext$$' -fuzztime 3s ./server/web

# Speed targets, proven by Go benchmarks (heavy ones take minutes). -p 1:
# one package's benchmarks at a time, not two competing for the CPUs.
bench:
	$(GO) test -p 1 -run '^$$' -bench . -timeout 60m $(PKGS)

# ansible-inventory over 10,000 hosts: cat of the JSON (the floor), the
# script, the tana.cmdb plugin, the plugin with five hostvars (about 1 min per round).
bench-ansible:
	$(GO) test -run '^$$' -bench '^BenchmarkAnsibleInventory$$' -benchtime 1x -count 3 -timeout 30m ./inventory/ansible

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run $(PKGS)

# The web UI's third-party files (htmx, GraphiQL, React, axe-core) at the
# versions pinned in server/web/assets/vendor.lock, fetched from the npm
# registry and checked against the lock; the result is committed, so no
# build fetches. After a version bump (hashes emptied): make vendor PIN=1.
vendor:
	$(GO) run ./server/web/assets/npmvendor $(if $(PIN),-pin)

demo: build
	$(BIN) demo

# The README's pictures of the web UI, taken by its end-to-end test in
# headless Chromium against the demo lab (1280×800).
screenshots:
	TANA_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestWebUIEndToEnd$$' ./cmd/tana

clean:
	rm -rf bin
