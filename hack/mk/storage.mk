# Storage for the local cluster and the tests (engineer area: storage).
# Builds the object-store emulators and the CSI / local-path pieces into the
# versioned tool cache; `make tools` (hack/mk/cluster.mk) depends on
# tools-storage. A pin change here (and in the matching Go constants, which a
# unit test keeps in step) produces a new file name, so it rebuilds.

CAIRN_CACHE ?= $(HOME)/.cache/cairn
STORAGE_BIN := $(CAIRN_CACHE)/bin
STORAGE_TOOLS := $(ROOT)/hack/tools

MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
FAKE_GCS_VERSION := v1.56.1
AZURITE_VERSION := 3.37.0
SNAPSHOTTER_VERSION := v8.7.0
LOCAL_PATH_VERSION := v0.0.30

# Cairn's own CSI driver and provisioner (hack/tools/csi) are keyed by a hash
# of their sources instead of a version; test/cluster/addons computes the
# same hash (sorted file list, contents concatenated; tests excluded, they do
# not change the binaries) to find them.
CSI_SRC_HASH := $(shell find $(STORAGE_TOOLS)/csi -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)

MINIO_BIN := $(STORAGE_BIN)/minio-$(MINIO_VERSION)
FAKE_GCS_BIN := $(STORAGE_BIN)/fake-gcs-server-$(FAKE_GCS_VERSION)
AZURITE_DIR := $(CAIRN_CACHE)/azurite-$(AZURITE_VERSION)
AZURITE_BIN := $(AZURITE_DIR)/node_modules/.bin/azurite-blob
SNAPSHOT_CONTROLLER_BIN := $(STORAGE_BIN)/snapshot-controller-$(SNAPSHOTTER_VERSION)
CSI_SNAPSHOTTER_BIN := $(STORAGE_BIN)/csi-snapshotter-$(SNAPSHOTTER_VERSION)
SNAPSHOT_CRDS := $(CAIRN_CACHE)/snapshot-crds-$(SNAPSHOTTER_VERSION)/.done
CSI_DRIVER_BIN := $(STORAGE_BIN)/cairn-csi-driver-$(CSI_SRC_HASH)
CSI_PROVISIONER_BIN := $(STORAGE_BIN)/cairn-csi-provisioner-$(CSI_SRC_HASH)
LOCAL_PATH_BIN := $(STORAGE_BIN)/local-path-provisioner-$(LOCAL_PATH_VERSION)

# storage-go-build builds package $(2) of module dir $(1) into $@ atomically,
# statically linked so the same file also works inside a scratch image.
define storage-go-build
	@mkdir -p $(dir $@)
	@echo ">> building $(notdir $@)"
	cd $(STORAGE_TOOLS)/$(1) && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w $(3)' -o $@.tmp $(2)
	@mv -f $@.tmp $@
endef

.PHONY: tools-storage
tools-storage: $(MINIO_BIN) $(FAKE_GCS_BIN) $(AZURITE_BIN) $(SNAPSHOT_CONTROLLER_BIN) $(CSI_SNAPSHOTTER_BIN) \
	$(SNAPSHOT_CRDS) $(CSI_DRIVER_BIN) $(CSI_PROVISIONER_BIN) $(LOCAL_PATH_BIN) storage-packages ## Build or fetch every storage tool missing from the cache

$(MINIO_BIN):
	$(call storage-go-build,minio,github.com/minio/minio)

$(FAKE_GCS_BIN):
	$(call storage-go-build,fakegcs,github.com/fsouza/fake-gcs-server)

$(AZURITE_BIN):
	@command -v npm >/dev/null || { echo "npm is missing: apt-get install -y nodejs npm" >&2; exit 1; }
	@echo ">> installing azurite $(AZURITE_VERSION) (npm)"
	rm -rf $(AZURITE_DIR).tmp && mkdir -p $(AZURITE_DIR).tmp
	npm install --no-audit --no-fund --loglevel=error --prefix $(AZURITE_DIR).tmp azurite@$(AZURITE_VERSION)
	rm -rf $(AZURITE_DIR) && mv $(AZURITE_DIR).tmp $(AZURITE_DIR)

$(SNAPSHOT_CONTROLLER_BIN):
	$(call storage-go-build,csi,github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller,-X main.version=$(SNAPSHOTTER_VERSION))

$(CSI_SNAPSHOTTER_BIN):
	$(call storage-go-build,csi,github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter,-X main.version=$(SNAPSHOTTER_VERSION))

# A new source hash replaces the binaries built from older sources.
$(CSI_DRIVER_BIN):
	rm -f $(STORAGE_BIN)/cairn-csi-driver-*
	$(call storage-go-build,csi,./cmd/cairn-csi-driver)

$(CSI_PROVISIONER_BIN):
	rm -f $(STORAGE_BIN)/cairn-csi-provisioner-*
	$(call storage-go-build,csi,./cmd/cairn-csi-provisioner)

$(LOCAL_PATH_BIN):
	$(call storage-go-build,localpath,github.com/rancher/local-path-provisioner)

# The VolumeSnapshot CRDs come from the pinned client module, not a copy in
# this repository, so they always match the snapshot-controller built above.
$(SNAPSHOT_CRDS):
	@mkdir -p $(dir $@)
	dir=$$(cd $(STORAGE_TOOLS)/csi && $(GO) mod download -json github.com/kubernetes-csi/external-snapshotter/client/v8 | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'); \
	  test -n "$$dir" || { echo "cannot locate external-snapshotter/client/v8 in the module cache" >&2; exit 1; }; \
	  install -m 0644 $$dir/config/crd/*.storage.k8s.io_*.yaml $(dir $@)
	@touch $@

# System packages the storage add-ons need on the node: busybox-static for
# the local-path helper image.
.PHONY: storage-packages
storage-packages:
	@command -v busybox >/dev/null || { apt-get update -qq && apt-get install -y -qq busybox-static; }

.PHONY: test-storage
test-storage: tools-storage ## Run the object-store emulator tests against the cached binaries
	CAIRN_REQUIRE_TOOLS=1 $(GO) test -count=1 ./test/objstore/...
	cd $(STORAGE_TOOLS)/csi && $(GO) test -count=1 ./...

# Prints the source hash the CSI tool binaries are cached under (used by a
# unit test of test/cluster/addons/csi to check both sides agree).
.PHONY: storage-print-csi-hash
storage-print-csi-hash:
	@echo $(CSI_SRC_HASH)

# Proves the storage add-ons on the local cluster (started, or reused from
# `make cluster-up`): a VolumeSnapshot becomes readyToUse and a claim restored
# from it holds the data; a ReadWriteMany local-path claim binds and is shared;
# pods reach MinIO, fake-gcs-server and Azurite on the bridge address.
.PHONY: test-storage-integration
test-storage-integration: tools
	$(GO) test -tags integration -count=1 -timeout 20m ./test/cluster/addons/... ./test/objstore/...
