# Delivering the operator (engineer area: deploy): `make image` builds the one
# Cairn image (operator and runner) without Docker, `make deploy` puts it on
# the local cluster with the manifests of deploy/, `make undeploy` removes it.

# The image holds both static binaries: /cairn-operator, and /cairn (the runner
# that trigger CronJobs and backup/restore Jobs run; the image's entrypoint)
# plus the CA bundle for object stores reached over TLS. It runs as the
# non-root uid 65532 and its tag is a hash of its content (never :latest).
IMAGE_REPO ?= cairn.local/cairn
IMAGE_WORK := $(CACHE)/image
IMAGE_TAR := $(IMAGE_WORK)/cairn.tar
# The reference `make image` built last (cairn.local/cairn:<hash>).
IMAGE_REF_FILE := $(IMAGE_WORK)/ref
IMAGE_UID := 65532
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
# Debug info is stripped (-s -w: about a third of the size); stack traces keep
# their file:line, which needs only the pclntab.
IMAGE_LDFLAGS := -s -w $(GO_LDFLAGS)
# The overlay component that pins deploy/overlays/local to the built tag.
LOCAL_IMAGE_COMPONENT := $(ROOT)/deploy/overlays/local/image/kustomization.yaml

# The cluster's kubectl: the one built from the cluster's own pin.
KUBE_VERSION := $(shell sed -n 's/^const KubeVersion = "\(.*\)"$$/\1/p' $(ROOT)/test/cluster/options.go)
KUBECTL ?= $(CAIRN_CACHE)/bin/kubectl-$(KUBE_VERSION)
DEPLOY_NAMESPACE := cairn-system
ROLLOUT_TIMEOUT ?= 180s

.PHONY: image deploy undeploy

## image: build the Cairn image (operator + runner, non-root, content-derived tag) as a tarball in .cache/image, without Docker
image:
	@mkdir -p $(IMAGE_WORK)/rootfs
	@test -f $(CA_BUNDLE) || { echo "$(CA_BUNDLE) is missing: apt-get install -y ca-certificates (or set CA_BUNDLE)" >&2; exit 1; }
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -tags '$(GO_TAGS)' -ldflags '$(IMAGE_LDFLAGS)' -o $(IMAGE_WORK)/rootfs/ ./cmd/cairn ./cmd/cairn-operator
	cd $(ROOT)/hack/tools/images && $(GO) build -o $(IMAGE_WORK)/cairn-image .
	@ref=$$($(IMAGE_WORK)/cairn-image --repo $(IMAGE_REPO) --out $(IMAGE_TAR).tmp \
	    --file $(IMAGE_WORK)/rootfs/cairn-operator:/cairn-operator --file $(IMAGE_WORK)/rootfs/cairn:/cairn \
	    --file $(CA_BUNDLE):/etc/ssl/certs/ca-certificates.crt \
	    --entrypoint /cairn --user $(IMAGE_UID):$(IMAGE_UID)); \
	mv -f $(IMAGE_TAR).tmp $(IMAGE_TAR); \
	echo "$$ref" > $(IMAGE_REF_FILE); \
	mkdir -p $(dir $(LOCAL_IMAGE_COMPONENT)); \
	printf '%s\n' "# Written by make image: the image it built last. Not committed." \
	    "apiVersion: kustomize.config.k8s.io/v1alpha1" "kind: Component" "images:" \
	    "  - name: ghcr.io/cairnbackup/cairn" "    newName: $${ref%:*}" "    newTag: $${ref##*:}" > $(LOCAL_IMAGE_COMPONENT); \
	echo ">> $$ref ($$(du -h $(IMAGE_TAR) | cut -f1)) in $(IMAGE_TAR)"

# deploy-kubeconfig sets kc to the running local cluster's kubeconfig, or
# fails with the harness's answer and how to start the cluster.
define deploy-kubeconfig
st=$$($(BIN)/cairn-cluster status 2>&1) || { echo "$$st" >&2; echo "the local cluster is not running: run make cluster-up" >&2; exit 1; }; \
	kc=$$(echo "$$st" | sed -n 's/^running; export KUBECONFIG=//p'); \
	test -n "$$kc" || { echo "cannot read the kubeconfig from: $$st" >&2; exit 1; }
endef

## deploy: build the image, import it into the local cluster's node, apply deploy/overlays/local and wait for the rollout (`make cluster-up` first)
deploy: $(BIN)/cairn-cluster
	@$(deploy-kubeconfig)
	@$(MAKE) --no-print-directory image
	@$(deploy-kubeconfig); \
	test -x $(KUBECTL) || { echo "$(KUBECTL) is missing: run make tools" >&2; exit 1; }; \
	k="$(KUBECTL) --kubeconfig $$kc"; \
	echo ">> importing $$(cat $(IMAGE_REF_FILE)) into the node"; \
	$(BIN)/cairn-cluster import $(IMAGE_TAR); \
	echo ">> applying deploy/crds, then deploy/overlays/local"; \
	$$k apply -k $(ROOT)/deploy/crds; \
	out=$$($$k wait --for=condition=Established --timeout=60s -f $(ROOT)/deploy/crds 2>&1) || { echo "$$out" >&2; exit 1; }; \
	$$k apply -k $(ROOT)/deploy/overlays/local; \
	$$k -n $(DEPLOY_NAMESPACE) rollout status deployment/cairn-operator --timeout=$(ROLLOUT_TIMEOUT) || { \
	  echo ">> the rollout did not finish; the operator's pods and recent events:" >&2; \
	  $$k -n $(DEPLOY_NAMESPACE) get pods -o wide >&2; \
	  $$k -n $(DEPLOY_NAMESPACE) get events --sort-by=.lastTimestamp >&2 | tail -20; \
	  $$k -n $(DEPLOY_NAMESPACE) logs deployment/cairn-operator --tail=30 >&2 || true; \
	  exit 1; }

## undeploy: remove the operator, its RBAC and namespace and the default Addons and Functions; the CRDs and every Cairn object stay (see docs/install.md)
# The CRDs stay on purpose, as with `helm uninstall`: deleting one deletes
# every object of its kind, and their finalizers (WipeOut deletes data) need
# a running operator. `kubectl delete -k deploy/crds` removes them.
undeploy: $(BIN)/cairn-cluster
	@$(deploy-kubeconfig); \
	k="$(KUBECTL) --kubeconfig $$kc"; \
	if $$k get crd addons.addons.cairn.dev functions.addons.cairn.dev >/dev/null 2>&1; then \
	  $$k delete --ignore-not-found -k $(ROOT)/deploy/addons; fi; \
	$$k delete --ignore-not-found --wait=true -k $(ROOT)/deploy/operator
