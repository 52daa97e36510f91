#!/usr/bin/env bash
# Fails when anything generated from pkg/apis (deepcopy, client/, deploy/crds/)
# differs from what hack/update-codegen.sh produces now. It regenerates in a
# scratch copy of the tree, so your working tree is never touched.
set -o errexit -o nounset -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "${SCRATCH}"' EXIT

cd "${ROOT}"
# Tracked and untracked-but-not-ignored files: what a commit would contain.
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "${SCRATCH}"
"${SCRATCH}/hack/update-codegen.sh" >/dev/null 2>"${SCRATCH}.log" || { cat "${SCRATCH}.log" >&2; rm -f "${SCRATCH}.log"; exit 1; }
rm -f "${SCRATCH}.log"

status=0
for dir in client deploy/crds pkg/apis; do
    if ! diff -r -q "${ROOT}/${dir}" "${SCRATCH}/${dir}" >/dev/null; then
        echo "generated files under ${dir}/ are stale:" >&2
        diff -r -q "${ROOT}/${dir}" "${SCRATCH}/${dir}" | sed "s|${SCRATCH}/||; s|${ROOT}/||" >&2 || true
        status=1
    fi
done
if [[ ${status} -ne 0 ]]; then
    echo "run 'make generate' and commit the result" >&2
    exit 1
fi
echo "generated code and CRDs are up to date"
