#!/usr/bin/env bash
# The cert-manager flow without cert-manager: a self-signed certificate
# made by `openssl req -x509`, written as the Secret my-cert (type
# kubernetes.io/tls) that the Gateway's certificateRefs names.
#
#   bash examples/cert-manager/standalone/make-secret.sh [HOSTNAME] [OUT]
#
# HOSTNAME defaults to game.example.com, OUT to secret.yaml next to this
# script. In a cluster, the same from the two files:
#   kubectl create secret tls my-cert --cert=tls.crt --key=tls.key
set -euo pipefail

host=${1:-game.example.com}
here=$(cd "$(dirname "$0")" && pwd)
out=${2:-$here/secret.yaml}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -days 90 -subj "/CN=$host" \
    -addext "subjectAltName=DNS:$host" \
    -keyout "$tmp/tls.key" -out "$tmp/tls.crt" 2>/dev/null

{
    echo "# made by make-secret.sh: self-signed for $host"
    echo "apiVersion: v1"
    echo "kind: Secret"
    echo "metadata:"
    echo "  name: my-cert"
    echo "  namespace: default"
    echo "type: kubernetes.io/tls"
    echo "data:"
    echo "  tls.crt: $(base64 -w0 < "$tmp/tls.crt")"
    echo "  tls.key: $(base64 -w0 < "$tmp/tls.key")"
} > "$out.tmp"
chmod 600 "$out.tmp"
mv "$out.tmp" "$out"
echo "make-secret: wrote $out (CN=$host, 90 days)"
