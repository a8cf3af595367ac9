#!/usr/bin/env bash
# End to end on a throwaway kind cluster (needs docker, kind, kubectl):
# build the image, load it into kind, deploy config/default with that image,
# apply config/samples and wait for every ProviderSet to become Ready.
#
#   hack/kind-e2e.sh            # deletes the cluster on exit
#   KEEP=1 hack/kind-e2e.sh     # keeps it for poking around
#
# Environment: CLUSTER (tfmirror-e2e), IMAGE (terraform-mirror:dev),
# NAMESPACE (terraform-mirror, the namespace config/default uses), TIMEOUT (10m).
set -euo pipefail

CLUSTER="${CLUSTER:-tfmirror-e2e}"
IMAGE="${IMAGE:-terraform-mirror:dev}"
NAMESPACE="${NAMESPACE:-terraform-mirror}"
TIMEOUT="${TIMEOUT:-10m}"
KEEP="${KEEP:-0}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

for tool in docker kind kubectl openssl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "kind-e2e: $tool is not on PATH" >&2; exit 2; }
done

WORK="$(mktemp -d)"
CONTEXT="kind-${CLUSTER}"
kc() { kubectl --context "$CONTEXT" "$@"; }

cleanup() {
  local rc=$?
  if [[ $rc -ne 0 ]] && kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    echo "--- failure diagnostics" >&2
    kc -n "$NAMESPACE" get all,pvc,providersets,providermirrors,modulesets -o wide >&2 || true
    kc -n "$NAMESPACE" describe pods >&2 || true
    kc -n "$NAMESPACE" logs deployment/terraform-mirror-manager --all-containers --tail=200 >&2 || true
  fi
  if [[ "$KEEP" == "1" ]]; then
    echo "KEEP=1: cluster $CLUSTER kept (kind delete cluster --name $CLUSTER)"
  else
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT

echo "--- building $IMAGE"
docker build -t "$IMAGE" .

echo "--- creating kind cluster $CLUSTER"
if ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind create cluster --name "$CLUSTER" --wait 120s
fi
kind load docker-image "$IMAGE" --name "$CLUSTER"

echo "--- operator token Secret"
kc create namespace "$NAMESPACE" --dry-run=client -o yaml | kc apply -f -
kc -n "$NAMESPACE" create secret generic terraform-mirror-operator-token \
  --from-literal=token="$(openssl rand -hex 32)" --dry-run=client -o yaml | kc apply -f -

echo "--- deploying config/default with $IMAGE"
# Rewrite the image in a copy of the kustomize tree so the checkout stays untouched.
cp -R config "$WORK/config"
IMAGE_NAME="${IMAGE%:*}"
IMAGE_TAG="${IMAGE##*:}"
if command -v kustomize >/dev/null 2>&1; then
  (cd "$WORK/config/default" && kustomize edit set image "terraform-mirror=${IMAGE_NAME}:${IMAGE_TAG}")
  kc apply -k "$WORK/config/default"
else
  kubectl kustomize "$WORK/config/default" \
    | sed -E "s#^([[:space:]]*image:[[:space:]]*)terraform-mirror:[^[:space:]]+#\1${IMAGE_NAME}:${IMAGE_TAG}#" \
    > "$WORK/rendered.yaml"
  grep -q "image: ${IMAGE_NAME}:${IMAGE_TAG}" "$WORK/rendered.yaml" \
    || { echo "kind-e2e: image substitution failed" >&2; exit 1; }
  kc apply -f "$WORK/rendered.yaml"
fi
kc wait --for=condition=Established crd/providersets.tfmirror.dev crd/providermirrors.tfmirror.dev crd/modulesets.tfmirror.dev --timeout=60s
kc -n "$NAMESPACE" rollout status deployment/terraform-mirror-manager --timeout=5m

echo "--- applying config/samples"
kc apply -k config/samples

echo "--- waiting for ProviderSets, ProviderMirrors and ModuleSets (timeout $TIMEOUT)"
kc -n "$NAMESPACE" wait --for=condition=Ready providerset --all --timeout="$TIMEOUT"
kc -n "$NAMESPACE" wait --for=condition=Ready providermirror --all --timeout="$TIMEOUT"
kc -n "$NAMESPACE" wait --for=condition=Ready moduleset --all --timeout="$TIMEOUT"

echo "--- status"
kc -n "$NAMESPACE" get providersets,providermirrors,modulesets -o wide
kc -n "$NAMESPACE" get providersets -o jsonpath='{range .items[*]}{.metadata.name}{": "}{.status}{"\n"}{end}'
echo "kind-e2e: OK"
