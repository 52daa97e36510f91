# Data engine: the cairn CLI, its tests and the side-by-side benchmark.

CAIRN_PKGS := ./pkg/chunker/... ./pkg/archiver/... ./pkg/restorer/... ./pkg/fsfilter/... ./pkg/progress/... \
              ./pkg/fsutil/... ./pkg/fsfixture/... ./cmd/cairn/... ./hack/bench/...
BENCH_WORK ?= /var/tmp/cairn-bench
BENCH_SIZE ?= 1073741824
FUZZTIME ?= 30s

.PHONY: cairn test-engine-cli fuzz-engine fuzz-chunker bench bench-minio bench-restic

## cairn: build the cairn binary into bin/ (static, like the one in the job image)
cairn:
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(GO_TAGS)' -ldflags '$(GO_LDFLAGS)' -o $(BIN)/cairn ./cmd/cairn

## test-engine-cli: unit and end-to-end tests of the file pipeline and the CLI
test-engine-cli:
	$(GO) test -race $(CAIRN_PKGS)

## fuzz-engine: run the file pipeline's fuzz targets (chunker, patterns, restore names), FUZZTIME each
fuzz-engine: fuzz-chunker
	$(GO) test -run '^$$' -fuzz FuzzFilter -fuzztime $(FUZZTIME) ./pkg/fsfilter
	$(GO) test -run '^$$' -fuzz FuzzCheckName -fuzztime $(FUZZTIME) ./pkg/restorer

## fuzz-chunker: run the chunker's fuzz target for FUZZTIME
fuzz-chunker:
	$(GO) test -run '^$$' -fuzz FuzzCut -fuzztime $(FUZZTIME) ./pkg/chunker

bench-restic:
	@command -v restic >/dev/null || { apt-get update -qq && apt-get install -y -qq restic; }

## bench: cairn vs restic side by side (1 GiB random files, the Go tree, re-backups, restore)
bench: cairn bench-restic
	$(GO) run ./hack/bench -cairn $(BIN)/cairn -work $(BENCH_WORK) -size $(BENCH_SIZE) -out $(CACHE)/engine-bench.md

## bench-minio: the same with both tools' repositories in MinIO on loopback (the S3 clients side by side; make tools-storage builds MinIO)
bench-minio: cairn bench-restic
	$(GO) run ./hack/bench -minio -cairn $(BIN)/cairn -work $(BENCH_WORK) -size $(BENCH_SIZE) -out $(CACHE)/engine-bench-minio.md
