# The kubectl plugin `kubectl cairn` (cmd/kubectl-cairn, pkg/kubectlcairn/...).
# `make test` covers it through `go vet ./...` and `go test ./...`; its
# integration test (test/integration/plugin_test.go) builds it itself.

.PHONY: kubectl-cairn

## kubectl-cairn: build the kubectl plugin into bin/ (with bin/ on PATH, `kubectl cairn ...` runs it; see docs/kubectl-cairn.md)
# kubectl (1.26+) completes a plugin's arguments through an executable named
# kubectl_complete-<plugin> on the PATH; ours asks the plugin itself.
kubectl-cairn:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(GO_TAGS)' -ldflags '$(GO_LDFLAGS)' -o $(BIN)/kubectl-cairn ./cmd/kubectl-cairn
	@printf '%s\n' '#!/bin/sh' '# kubectl runs this to complete `kubectl cairn ...`: the plugin completes itself.' \
	    'exec "$$(dirname "$$0")/kubectl-cairn" __complete "$$@"' > $(BIN)/kubectl_complete-cairn
	@chmod +x $(BIN)/kubectl_complete-cairn
