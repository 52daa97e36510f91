# Data engine repository core (pkg/repo/...): tests and fuzzing. Owner: E1.

REPO_PKGS := ./pkg/repo/...
REPO_FUZZTIME ?= 30s
# package:FuzzTarget pairs, one per decoder of untrusted bytes.
REPO_FUZZ_TARGETS := \
	crypto:FuzzParseKeyFile crypto:FuzzOpen \
	pack:FuzzDecodeHeader pack:FuzzParseTail \
	index:FuzzDecodeFile \
	tree:FuzzDecodeNode tree:FuzzDecodeBlob \
	.:FuzzParseConfig .:FuzzParseSnapshot .:FuzzParsePlan

.PHONY: test-repo fuzz-repo

## test-repo: repository core tests with the race detector (cloud backends run when `make tools-storage` built the emulators)
test-repo:
	$(GO) test -race $(REPO_PKGS)

## fuzz-repo: run every repository decoder's fuzz target for REPO_FUZZTIME each
fuzz-repo:
	@set -e; for t in $(REPO_FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== pkg/repo/$$pkg $$fn"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(REPO_FUZZTIME) ./pkg/repo/$$pkg; \
	done
