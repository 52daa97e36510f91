#!/usr/bin/env bash
# Runs Cairn's end-to-end stories (test/e2e) on a kind cluster with the CSI
# hostpath driver, for machines with Docker (the project's own machines have
# none: there the same stories run on the local cluster through
# test/integration/volumesnapshot_test.go).
#
#   test/e2e/kind/run.sh            create the cluster, install, run, keep it
#   KEEP=0 test/e2e/kind/run.sh     ... and delete the cluster afterwards
#   SKIP_SETUP=1 test/e2e/kind/run.sh   run the tests on the existing cluster
#
# Needs: docker, kind, kubectl, git, go. Installs into the cluster:
#   - external-snapshotter ${SNAPSHOTTER_VERSION}: the VolumeSnapshot CRDs and
#     snapshot-controller (the csi-snapshotter sidecar comes with the driver)
#   - csi-driver-host-path ${HOSTPATH_VERSION}, its StorageClass
#     csi-hostpath-sc and VolumeSnapshotClass csi-hostpath-snapclass (made
#     the driver's default class, as the volume-snapshot task expects)
#   - MinIO in namespace cairn-e2e with bucket cairn-e2e (the stories'
#     BackupStorage)
#   - Cairn: `make image` (no Docker needed to build it), loaded into the
#     node, and deploy/overlays/local applied.
set -o errexit -o nounset -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd -P)"
CLUSTER="${CLUSTER:-cairn-e2e}"
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-kindest/node:v1.32.2}"
# Must stay equal to SnapshotterVersion in test/cluster/addons/csi (the
# client the operator is built with: github.com/kubernetes-csi/external-snapshotter/client/v8).
SNAPSHOTTER_VERSION="${SNAPSHOTTER_VERSION:-v8.7.0}"
HOSTPATH_VERSION="${HOSTPATH_VERSION:-v1.15.0}"
MINIO_IMAGE="${MINIO_IMAGE:-quay.io/minio/minio:RELEASE.2024-12-18T13-15-44Z}"
MC_IMAGE="${MC_IMAGE:-quay.io/minio/mc:RELEASE.2024-11-21T17-21-54Z}"
KEEP="${KEEP:-1}"
WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT

for tool in docker kind kubectl git go; do
    command -v "${tool}" >/dev/null || { echo "run.sh: ${tool} is required" >&2; exit 1; }
done
export KUBECONFIG="${WORK}/kubeconfig"

if [[ "${SKIP_SETUP:-0}" != 1 ]]; then
    if ! kind get clusters | grep -qx "${CLUSTER}"; then
        kind create cluster --name "${CLUSTER}" --image "${KIND_NODE_IMAGE}" --wait 120s
    fi
fi
kind get kubeconfig --name "${CLUSTER}" > "${KUBECONFIG}"

if [[ "${SKIP_SETUP:-0}" != 1 ]]; then
    echo ">> external-snapshotter ${SNAPSHOTTER_VERSION}"
    git clone --quiet --depth 1 --branch "${SNAPSHOTTER_VERSION}" https://github.com/kubernetes-csi/external-snapshotter "${WORK}/external-snapshotter"
    kubectl apply -k "${WORK}/external-snapshotter/client/config/crd"
    kubectl -n kube-system apply -k "${WORK}/external-snapshotter/deploy/kubernetes/snapshot-controller"
    kubectl -n kube-system rollout status deploy/snapshot-controller --timeout=180s

    echo ">> csi-driver-host-path ${HOSTPATH_VERSION}"
    git clone --quiet --depth 1 --branch "${HOSTPATH_VERSION}" https://github.com/kubernetes-csi/csi-driver-host-path "${WORK}/csi-driver-host-path"
    "${WORK}/csi-driver-host-path/deploy/kubernetes-latest/deploy.sh"
    kubectl apply -f "${WORK}/csi-driver-host-path/examples/csi-storageclass.yaml"
    kubectl apply -f "${WORK}/csi-driver-host-path/examples/csi-volumesnapshotclass.yaml"
    kubectl annotate --overwrite volumesnapshotclass csi-hostpath-snapclass snapshot.storage.kubernetes.io/is-default-class=true

    echo ">> MinIO"
    kubectl apply -f - <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: cairn-e2e}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: minio, namespace: cairn-e2e}
spec:
  selector: {matchLabels: {app: minio}}
  template:
    metadata: {labels: {app: minio}}
    spec:
      containers:
        - name: minio
          image: ${MINIO_IMAGE}
          args: [server, /data]
          env:
            - {name: MINIO_ROOT_USER, value: cairn-e2e}
            - {name: MINIO_ROOT_PASSWORD, value: cairn-e2e-secret}
          ports: [{containerPort: 9000}]
          readinessProbe: {httpGet: {path: /minio/health/ready, port: 9000}}
          volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: minio, namespace: cairn-e2e}
spec:
  selector: {app: minio}
  ports: [{port: 9000, targetPort: 9000}]
EOF
    kubectl -n cairn-e2e rollout status deploy/minio --timeout=180s
    kubectl -n cairn-e2e delete job make-bucket --ignore-not-found
    kubectl -n cairn-e2e create job make-bucket --image "${MC_IMAGE}" -- /bin/sh -c \
        'mc alias set e2e http://minio.cairn-e2e.svc:9000 cairn-e2e cairn-e2e-secret && mc mb --ignore-existing e2e/cairn-e2e'
    kubectl -n cairn-e2e wait --for=condition=complete job/make-bucket --timeout=180s

    echo ">> Cairn"
    make -C "${ROOT}" image
    kind load image-archive --name "${CLUSTER}" "${CAIRN_CACHE:-${HOME}/.cache/cairn}/image/cairn.tar"
    kubectl apply --server-side -k "${ROOT}/deploy/crds"
    kubectl wait --for=condition=established crd --all --timeout=60s
    kubectl apply -k "${ROOT}/deploy/overlays/local"
    kubectl -n cairn-system rollout status deploy/cairn-operator --timeout=180s
fi

echo ">> e2e stories"
status=0
(cd "${ROOT}" && CAIRN_E2E_KUBECONFIG="${KUBECONFIG}" go test ./test/e2e/kind/ -count=1 -v -timeout 40m) || status=$?
if [[ "${KEEP}" == 0 ]]; then
    kind delete cluster --name "${CLUSTER}"
fi
exit "${status}"
