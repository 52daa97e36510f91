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

MINIO_BIN := $(STORAGE_BIN)/minio-$(MINIO_VERSION)
FAKE_GCS_BIN := $(STORAGE_BIN)/fake-gcs-server-$(FAKE_GCS_VERSION)
AZURITE_DIR := $(CAIRN_CACHE)/azurite-$(AZURITE_VERSION)
AZURITE_BIN := $(AZURITE_DIR)/node_modules/.bin/azurite-blob

# storage-go-build builds package $(2) of module dir $(1) into $@ atomically,
# statically linked so the same file also works inside a scratch image.
define storage-go-build
	@mkdir -p $(dir $@)
	@echo ">> building $(notdir $@)"
	cd $(STORAGE_TOOLS)/$(1) && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w $(3)' -o $@.tmp $(2)
	@mv -f $@.tmp $@
endef

.PHONY: tools-storage
tools-storage: $(MINIO_BIN) $(FAKE_GCS_BIN) $(AZURITE_BIN) ## Build or fetch every storage tool missing from the cache

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

.PHONY: test-storage
test-storage: tools-storage ## Run the object-store emulator tests against the cached binaries
	CAIRN_REQUIRE_TOOLS=1 $(GO) test -count=1 ./test/objstore/...
