#!/bin/sh
# azd postprovision hook: apply manifests/ to the demo cluster, binding the Kubernetes RBAC Role to
# the app identity's object id. azd passes its environment values (main.bicep outputs) as variables.
# Skips with a hint (exit 0) when there is no demo cluster or a tool is missing; docs/deploy.md
# shows the same steps by hand.
set -eu

if [ -z "${AKS_CLUSTER_NAME:-}" ]; then
  echo "aks-hours: no demo cluster in this environment; manifests/ not applied."
  exit 0
fi
: "${AZURE_RESOURCE_GROUP:?azd did not pass AZURE_RESOURCE_GROUP}"
: "${APP_PRINCIPAL_ID:?azd did not pass APP_PRINCIPAL_ID}"

for tool in az kubectl kubelogin envsubst; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "aks-hours: '$tool' not found; apply manifests/ by hand (docs/deploy.md, step 'Apply the manifests')."
    exit 0
  fi
done

here="$(cd "$(dirname "$0")/../.." && pwd)"
KUBECONFIG="$(mktemp)"
export KUBECONFIG
trap 'rm -f "$KUBECONFIG"' EXIT

az aks get-credentials --resource-group "$AZURE_RESOURCE_GROUP" --name "$AKS_CLUSTER_NAME" \
  --file "$KUBECONFIG" --overwrite-existing --only-show-errors
# Entra-only cluster: let kubectl reuse the `az login` session for its tokens.
kubelogin convert-kubeconfig --login azurecli

rendered="$(mktemp)"
trap 'rm -f "$KUBECONFIG" "$rendered"' EXIT
# Only APP_PRINCIPAL_ID is substituted; any other "$" in the manifests stays as written.
kubectl kustomize "$here/manifests" | envsubst '${APP_PRINCIPAL_ID}' >"$rendered"

# Fresh Azure role assignments take up to five minutes to reach the cluster: retry Forbidden.
attempt=1
until kubectl apply --filename "$rendered"; do
  if [ "$attempt" -ge "${AKS_HOURS_APPLY_ATTEMPTS:-10}" ]; then
    echo "aks-hours: kubectl apply still failing after $attempt attempts" >&2
    exit 1
  fi
  echo "aks-hours: kubectl apply failed (attempt $attempt); role assignments may still be propagating, retrying in ${AKS_HOURS_APPLY_WAIT:-30}s"
  attempt=$((attempt + 1))
  sleep "${AKS_HOURS_APPLY_WAIT:-30}"
done
echo "aks-hours: manifests/ applied to $AKS_CLUSTER_NAME"
