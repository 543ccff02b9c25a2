#!/usr/bin/env bash
# Installs the Gateway API v1.6.1 CRDs with kubectl (the Helm chart does
# not install CRDs).
#
#   bash deploy/crds.sh                  # standard channel
#   bash deploy/crds.sh experimental     # + TLSRoute, TCPRoute, UDPRoute, ...
#   bash deploy/crds.sh --delete [experimental]
#                                        # uninstall: deletes every Gateway,
#                                        # route and policy in the cluster
#
# GATEWAY_API_VERSION overrides the version (default v1.6.1).
set -euo pipefail

version=${GATEWAY_API_VERSION:-v1.6.1}
action=apply
channel=standard

for arg in "$@"; do
    case "$arg" in
        standard|experimental) channel=$arg ;;
        --delete) action=delete ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "crds: unknown argument '$arg' (standard, experimental," \
                "--delete)" >&2
           exit 2 ;;
    esac
done

if ! command -v kubectl >/dev/null 2>&1; then
    echo "crds: kubectl is not installed" >&2
    exit 1
fi

url="https://github.com/kubernetes-sigs/gateway-api/releases/download/$version/$channel-install.yaml"

if [ "$action" = apply ]; then
    echo "crds: installing Gateway API $version ($channel channel)"
    kubectl apply --server-side -f "$url"
else
    echo "crds: deleting Gateway API $version ($channel channel) CRDs"
    kubectl delete --ignore-not-found -f "$url"
fi
