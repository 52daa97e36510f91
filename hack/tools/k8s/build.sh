#!/usr/bin/env bash
# Builds the pinned Kubernetes components (see go.mod) into the tool cache as
# $CAIRN_CACHE/bin/<name>-<version>. A binary that is already there is kept, so
# only a version change (a new pin) triggers a rebuild.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${CAIRN_CACHE:-$HOME/.cache/cairn}"
version="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$here/go.mod")"
if [[ -z "$version" ]]; then
  echo "build.sh: cannot find the k8s.io/kubernetes pin in $here/go.mod" >&2
  exit 1
fi
minor="$(echo "$version" | cut -d. -f2)"
names=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

missing=()
for n in "${names[@]}"; do
  [[ -x "$cache/bin/$n-$version" ]] || missing+=("$n")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "kube binaries $version: cached in $cache/bin"
  exit 0
fi

pkg="k8s.io/component-base/version"
ldflags="-s -w"
for p in "$pkg" k8s.io/client-go/pkg/version; do
  ldflags+=" -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
  ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done

tmp="$(mktemp -d "$cache/.build.XXXXXX" 2>/dev/null || { mkdir -p "$cache" && mktemp -d "$cache/.build.XXXXXX"; })"
trap 'rm -rf "$tmp"' EXIT
pkgs=()
for n in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$n"); done
echo "building ${missing[*]} $version (first build takes ~10 minutes on 2 cores)"
(cd "$here" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}")
mkdir -p "$cache/bin"
for n in "${missing[@]}"; do
  mv -f "$tmp/$n" "$cache/bin/$n-$version"
done
echo "kube binaries $version: built into $cache/bin"
