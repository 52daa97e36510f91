# Build, generate, verify and the one test command (engineer area: lead).

GOFMT_DIRS := cmd pkg test hack
UNIT_TIMEOUT ?= 20m
FUZZTIME ?= 20s

.PHONY: fresh-clone-check build generate verify verify-codegen lint fmt test test-unit test-race test-tools-unit fuzz help demo

# Every binary records what it was built from (`cairn version`): the nearest
# tag or commit from git describe, and the full commit, "-dirty" when the tree
# has uncommitted changes. Outside a git checkout both stay "unknown".
VERSION ?= $(shell git -C $(ROOT) describe --tags --always --dirty 2>/dev/null || echo unknown)
COMMIT ?= $(shell c=$$(git -C $(ROOT) rev-parse HEAD 2>/dev/null) && { git -C $(ROOT) diff --quiet HEAD 2>/dev/null && echo $$c || echo $$c-dirty; } || echo unknown)
VERSION_PKG := github.com/cairnbackup/cairn/pkg/version
GO_LDFLAGS := -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Commit=$(COMMIT)
# Build tags of every binary: disable_grpc_modules is cloud.google.com/go/storage's
# tag that leaves out gRPC direct path and xDS, which cairn never uses (gs:// goes
# over the JSON API): 19 MB less binary and about 10 MB less resident memory per process.
GO_TAGS ?= disable_grpc_modules

## build: build every binary into bin/ (static, no cgo: what the job image runs)
build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(GO_TAGS)' -ldflags '$(GO_LDFLAGS)' -o $(BIN)/ ./cmd/...

## generate: regenerate deepcopy, client/ and deploy/crds from pkg/apis
generate:
	$(ROOT)/hack/update-codegen.sh

## verify-codegen: fail when generated code or CRDs are stale
verify-codegen:
	$(ROOT)/hack/verify-codegen.sh

## lint: go vet and gofmt
lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $(GOFMT_DIRS)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; echo "run 'make fmt'"; exit 1; fi

## fmt: format the Go code
fmt:
	gofmt -w $(GOFMT_DIRS)

## verify: everything that checks the tree without running tests
verify: verify-codegen lint

## test-unit: unit tests (no cluster), including every fuzz target's seed corpus
test-unit:
	$(GO) test -count=1 -timeout $(UNIT_TIMEOUT) ./...

## test-race: the data engine's concurrent code (pipeline, pool of off-heap buffers, packer, drivers) under the race detector
RACE_PKGS := ./pkg/bufpool/... ./pkg/chunker/... ./pkg/archiver/... ./pkg/restorer/... ./pkg/repo/... ./cmd/cairn/...
test-race:
	$(GO) test -race -count=1 -timeout $(UNIT_TIMEOUT) $(RACE_PKGS)

## test-tools-unit: unit tests of the hack/tools modules that have tests (each is its own Go module)
test-tools-unit:
	@set -e; for mod in $$(find hack/tools -name '*_test.go' -exec dirname {} \; | while read -r d; do \
	    while [ ! -f "$$d/go.mod" ]; do d=$$(dirname "$$d"); done; echo "$$d"; done | sort -u); do \
	  echo ">> go test ./... in $$mod"; (cd "$$mod" && $(GO) test -count=1 ./...); \
	done

## test: THE test command: tools, verify, unit tests (the engine's also under -race), then every integration test on a local cluster
# The tools come first and CAIRN_REQUIRE_TOOLS=1 turns "emulator not built" from a skip into a
# failure, so no test that needs MinIO, fake-gcs-server or Azurite is silently skipped here.
test: export CAIRN_REQUIRE_TOOLS = 1
test: tools
	$(MAKE) verify test-monitoring test-unit test-race test-tools-unit test-integration test-storage-integration

## fuzz: run every fuzz target in the module for FUZZTIME each
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo ">> $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## fresh-clone-check: clone this repository and run `make test` there with empty Go module and build caches (FRESH_ARGS=--cold: also an empty tool cache)
fresh-clone-check:
	$(ROOT)/hack/fresh-clone-check.sh $(FRESH_ARGS)

## help: list the make targets
help:
	@grep -h '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

## demo: Cairn's whole story on the local cluster: starts it if needed, make deploy, then backup, damage, restore, download (see docs/demo.md)
demo: build cluster-up
	$(MAKE) --no-print-directory deploy
	$(GO) run ./hack/demo -cairn $(BIN)/cairn -plugin $(BIN)/kubectl-cairn -work $(CACHE)/demo
