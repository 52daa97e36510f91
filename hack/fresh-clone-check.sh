#!/usr/bin/env bash
# Runs the README's test command (`make test`) the way a newcomer would: in a
# fresh clone of this repository, with an empty Go module cache and an empty
# Go build cache, so nothing that happens to be on this machine hides a
# missing download or build step. With --cold the tool cache (CAIRN_CACHE:
# kube binaries, MinIO, emulators, images) starts empty too.
#
#   hack/fresh-clone-check.sh [--cold] [--keep] [--ref REF]
#
# It clones committed work only (REF, default HEAD): commit before you run it.
# Prints the elapsed time of the clone's `make test` at the end; the exit code
# is make's.
#
# Only one local cluster runs per machine (it owns the bridge, the node name
# and iptables rules). Without --cold the clone reuses the tool cache and, if
# one runs, the cluster of $CAIRN_CACHE. With --cold the clone's cluster keeps
# its state in the new, empty cache, so a cluster already running is stopped
# first (under the harness's start lock) and the clone's is stopped at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cold=0 keep=0 ref=HEAD
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cold) cold=1 ;;
    --keep) keep=1 ;;
    --ref) ref="$2"; shift ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fresh-clone-check: unknown argument $1 (want --cold, --keep or --ref REF)" >&2; exit 2 ;;
  esac
  shift
done

command -v git >/dev/null || { echo "fresh-clone-check: git is missing: apt-get install -y git" >&2; exit 1; }
command -v flock >/dev/null || { echo "fresh-clone-check: flock is missing: apt-get install -y util-linux" >&2; exit 1; }

outer_cache="${CAIRN_CACHE:-${HOME}/.cache/cairn}"
work="$(mktemp -d "${FRESH_CLONE_DIR:-/var/tmp}/cairn-fresh.XXXXXX")"
export GOMODCACHE="${work}/gomodcache" GOCACHE="${work}/gocache"
# A module cache is read-only by default; -modcacherw lets the clean-up remove it.
export GOFLAGS="${GOFLAGS:+${GOFLAGS} }-modcacherw"
if [[ ${cold} -eq 1 ]]; then
  export CAIRN_CACHE="${work}/cairn-cache"
else
  export CAIRN_CACHE="${outer_cache}"
fi
unset CAIRN_CLUSTER_DIR

# cluster_down stops the cluster whose state is under cache $1, holding the
# same start lock the harness takes, so no test run attaches while it stops.
cluster_down() {
  local dir="$1/cluster"
  [[ -f "${dir}/state.json" ]] || return 0
  echo ">> stopping the local cluster in ${dir}"
  (cd "${work}/src" && CAIRN_CACHE="$1" flock "${dir}.lock" make -s cluster-down) || true
}

cleanup() {
  status=$?
  [[ ${cold} -eq 1 && -d "${work}/src" ]] && cluster_down "${CAIRN_CACHE}"
  if [[ ${keep} -eq 1 ]]; then
    echo ">> kept ${work}"
  else
    chmod -R u+w "${work}" 2>/dev/null || true
    rm -rf "${work}"
  fi
  exit "${status}"
}
trap cleanup EXIT

echo ">> cloning ${ROOT} at ${ref} into ${work}/src"
git clone -q "${ROOT}" "${work}/src"
git -C "${work}/src" checkout -q "${ref}"
[[ ${cold} -eq 1 ]] && cluster_down "${outer_cache}"

echo ">> make test with GOMODCACHE=${GOMODCACHE} GOCACHE=${GOCACHE} CAIRN_CACHE=${CAIRN_CACHE} (all empty but CAIRN_CACHE$([[ ${cold} -eq 1 ]] && echo ', which is empty too'))"
start=$(date +%s)
rc=0
(cd "${work}/src" && make test) || rc=$?
elapsed=$(( $(date +%s) - start ))
printf '>> fresh-clone check (%s): make test %s after %d min %d s\n' \
  "$([[ ${cold} -eq 1 ]] && echo cold || echo 'empty Go caches')" \
  "$([[ ${rc} -eq 0 ]] && echo passed || echo "FAILED (exit ${rc})")" $((elapsed / 60)) $((elapsed % 60))
exit "${rc}"
