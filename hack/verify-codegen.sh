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
report() { echo "generated files are stale:" >&2; sed "s|${SCRATCH}/||; s|${ROOT}/||" >&2; status=1; }
# report reads the differences on stdin; it must not run in a pipeline
# (a subshell), or the status it sets would be lost.
# client/ and deploy/crds/ hold only generated files: compare them whole.
for dir in client deploy/crds; do
    out="$(diff -r -q "${ROOT}/${dir}" "${SCRATCH}/${dir}" 2>&1)" || report <<<"${out}"
done
# In pkg/apis only the zz_generated files are generated.
gen_files() { (cd "$1" && find pkg/apis -name 'zz_generated*' | sort); }
if [[ "$(gen_files "${ROOT}")" != "$(gen_files "${SCRATCH}")" ]]; then
    report <<<"$(diff <(gen_files "${ROOT}") <(gen_files "${SCRATCH}"))"
fi
while read -r f; do
    [[ -f "${SCRATCH}/${f}" ]] && { cmp -s "${ROOT}/${f}" "${SCRATCH}/${f}" || report <<<"${f} differs"; }
done < <(gen_files "${ROOT}")
if [[ ${status} -ne 0 ]]; then
    echo "run 'make generate' and commit the result" >&2
    exit 1
fi
echo "generated code and CRDs are up to date"
