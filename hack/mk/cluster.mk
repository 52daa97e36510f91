# The local Kubernetes cluster for integration tests and the demo (engineer
# area: cluster). `make tools` builds or installs everything missing (the
# pinned kube binaries, Debian packages, and through tools-storage the object
# stores and CSI pieces); `make cluster-up` starts a cluster that later test
# runs reuse; `make cluster-down` stops it and removes its state.

CAIRN_CACHE ?= $(HOME)/.cache/cairn
export CAIRN_CACHE

# System packages the node needs; installed with apt-get when missing.
CLUSTER_DEB_PKGS := containerd runc containernetworking-plugins iptables conntrack iproute2 busybox-static etcd-server
INTEGRATION_TIMEOUT ?= 40m

.PHONY: tools tools-system tools-k8s cluster-up cluster-down cluster-status test-integration test-cluster-unit

## tools: build or install every tool the local cluster and the tests need
tools: tools-system tools-k8s tools-storage

## tools-system: apt-get install the node's system packages that are missing
tools-system:
	@missing=""; for p in $(CLUSTER_DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo ">> installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

## tools-k8s: build the pinned kube binaries into $(CAIRN_CACHE)/bin (only when missing)
tools-k8s:
	@$(ROOT)/hack/tools/k8s/build.sh

.PHONY: $(BIN)/cairn-cluster
$(BIN)/cairn-cluster:
	@mkdir -p $(BIN)
	$(GO) build -o $@ ./test/cluster/cmd/cairn-cluster


## cluster-up: start the local cluster (or reuse a running one); prints the KUBECONFIG to use
cluster-up: tools $(BIN)/cairn-cluster
	$(BIN)/cairn-cluster up

## cluster-down: stop the local cluster and remove its state
cluster-down: $(BIN)/cairn-cluster
	$(BIN)/cairn-cluster down

## cluster-status: say whether the local cluster runs
cluster-status: $(BIN)/cairn-cluster
	$(BIN)/cairn-cluster status

## test-cluster-unit: unit tests of the cluster harness and the image tool (no cluster needed)
test-cluster-unit:
	$(GO) test ./test/cluster/...
	cd $(ROOT)/hack/tools/images && $(GO) test ./...

## test-integration: crash-recovery test of the harness, `make deploy`, then the integration tests against the
## local cluster (started if needed and left running, so the next run is warm; `make cluster-down` stops it)
# The operator is deployed after TestCrashRecovery, which replaces the cluster
# with a fresh one: the tests then run against the operator as `make deploy`
# installs it (in the cluster, with its real RBAC).
test-integration: cluster-up
	$(GO) test -tags integration -count=1 -timeout $(INTEGRATION_TIMEOUT) -run TestCrashRecovery ./test/cluster/
	$(MAKE) deploy
	$(GO) test -tags integration -count=1 -timeout $(INTEGRATION_TIMEOUT) ./test/integration/...
