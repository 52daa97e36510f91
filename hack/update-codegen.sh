#!/usr/bin/env bash
# Regenerates everything derived from the API types in pkg/apis:
#   - deepcopy functions next to the types (zz_generated.deepcopy.go),
#   - the typed clientset, listers, informers and apply configurations in client/,
#   - the CRD manifests in deploy/crds/.
# The generator versions come from go.mod (code-generator) and from
# CONTROLLER_TOOLS_VERSION below, so the output is the same on every machine.
set -o errexit -o nounset -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
MODULE="github.com/cairnbackup/cairn"
CONTROLLER_TOOLS_VERSION="v0.23.0"
CACHE="${CAIRN_CACHE:-${HOME}/.cache/cairn}"

cd "${ROOT}"
# `go list -m -f '{{.Dir}}'` is empty until the module is in the module cache,
# and nothing else downloads it on a fresh machine: download it (a no-op when
# it is there) and take the directory from what the download reports.
CODEGEN_VERSION="$(go list -m -f '{{.Version}}' k8s.io/code-generator)"
CODEGEN_PKG="$(go mod download -json "k8s.io/code-generator@${CODEGEN_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
if [[ -z "${CODEGEN_PKG}" || ! -f "${CODEGEN_PKG}/kube_codegen.sh" ]]; then
    echo "update-codegen.sh: k8s.io/code-generator ${CODEGEN_VERSION} is not in the module cache ($(go env GOMODCACHE)) and could not be downloaded; check GOPROXY/network and run 'go mod download k8s.io/code-generator'" >&2
    exit 1
fi
# Generators are installed into a versioned cache directory, never $GOPATH/bin.
export GOBIN="${CACHE}/bin/code-generator-${CODEGEN_VERSION}"
mkdir -p "${GOBIN}"

# shellcheck source=/dev/null
source "${CODEGEN_PKG}/kube_codegen.sh"

kube::codegen::gen_helpers \
    --boilerplate "${ROOT}/hack/boilerplate.go.txt" \
    "${ROOT}/pkg/apis"

rm -rf "${ROOT}/client"
kube::codegen::gen_client \
    --with-watch \
    --with-applyconfig \
    --output-dir "${ROOT}/client" \
    --output-pkg "${MODULE}/client" \
    --boilerplate "${ROOT}/hack/boilerplate.go.txt" \
    "${ROOT}/pkg/apis"

CONTROLLER_GEN="${CACHE}/bin/controller-gen-${CONTROLLER_TOOLS_VERSION}"
if [[ ! -x "${CONTROLLER_GEN}" ]]; then
    echo "building controller-gen ${CONTROLLER_TOOLS_VERSION} into ${CONTROLLER_GEN}" >&2
    tmp="$(mktemp -d)"
    GOBIN="${tmp}" GOFLAGS= go install "sigs.k8s.io/controller-tools/cmd/controller-gen@${CONTROLLER_TOOLS_VERSION}"
    mv "${tmp}/controller-gen" "${CONTROLLER_GEN}"
    rm -rf "${tmp}"
fi
rm -rf "${ROOT}/deploy/crds"
"${CONTROLLER_GEN}" crd:crdVersions=v1,generateEmbeddedObjectMeta=true paths="./pkg/apis/..." output:crd:dir="${ROOT}/deploy/crds"
