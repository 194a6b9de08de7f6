#!/usr/bin/env bash
# Validates the manifests in this directory offline against the Kubernetes API schemas, with the
# kubernetes-validate package from PyPI (installed into a throwaway virtualenv). If it cannot be
# installed within a minute (no network, no python3, no venv), prints why and exits 0: skipped.
# Also checks that the ConfigMap's agent.json is valid JSON.
#
#   Deploy/kubernetes/validate.sh                 # validates against kubernetes-validate's newest schemas
#   KUBERNETES_VERSION=1.30 Deploy/kubernetes/validate.sh
set -Eeuo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifests=("$here"/*.yaml)
install_timeout="${VALIDATE_INSTALL_TIMEOUT:-60}"

skip() { echo "kubernetes manifests: validation skipped: $*"; exit 0; }

command -v python3 >/dev/null || skip "python3 is not installed"
workdir="$(mktemp -d "${TMPDIR:-/tmp}/licmesh-k8s-validate.XXXXXX")"
trap 'rm -rf "$workdir"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

python3 -m venv "$workdir/venv" >"$workdir/venv.log" 2>&1 || skip "cannot create a python virtualenv ($(tail -n 1 "$workdir/venv.log"))"
status=0
timeout "$install_timeout" "$workdir/venv/bin/pip" install --quiet --disable-pip-version-check kubernetes-validate \
    >"$workdir/pip.log" 2>&1 || status=$?
if (( status == 124 )); then
    skip "installing kubernetes-validate took more than ${install_timeout}s"
elif (( status != 0 )); then
    skip "kubernetes-validate could not be installed: $(grep -E 'ERROR|error' "$workdir/pip.log" | tail -n 1 || tail -n 1 "$workdir/pip.log")"
fi

version_args=()
[[ -n "${KUBERNETES_VERSION:-}" ]] && version_args=(--kubernetes-version "$KUBERNETES_VERSION")

echo "kubernetes-validate $("$workdir/venv/bin/pip" show kubernetes-validate | awk '/^Version:/ {print $2}'), --strict:"
failed=0
for manifest in "${manifests[@]}"; do
    if output=$("$workdir/venv/bin/kubernetes-validate" --strict "${version_args[@]}" "$manifest" 2>&1); then
        echo "  ok    $(basename "$manifest")"
    else
        echo "  FAIL  $(basename "$manifest")"
        sed 's/^/        /' <<<"$output"
        failed=$((failed + 1))
    fi
done

# The agent's configuration inside the ConfigMap must at least be JSON (the agent checks the rest).
"$workdir/venv/bin/python" - "$here/configmap.yaml" <<'PY' || failed=$((failed + 1))
import json, sys, yaml
with open(sys.argv[1]) as f:
    document = yaml.safe_load(f)
try:
    json.loads(document["data"]["agent.json"])
except Exception as error:
    print(f"  FAIL  configmap.yaml: agent.json is not valid JSON: {error}")
    sys.exit(1)
print("  ok    configmap.yaml: agent.json is valid JSON")
PY

echo "kubernetes manifests: $(( ${#manifests[@]} + 1 - failed )) passed, $failed failed"
(( failed == 0 ))
