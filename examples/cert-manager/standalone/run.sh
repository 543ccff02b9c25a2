#!/usr/bin/env bash
# The certificate flow on this machine, no cluster: make the Secret with
# openssl, then run the controller on the example's Gateway, the route's
# backend and the Secret. Ctrl-C stops it.
#
#   bash examples/cert-manager/standalone/run.sh     (after `make all`)
set -euo pipefail
cd "$(dirname "$0")/../../.."

work=$(mktemp -d /tmp/ngx-gateway-cert.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait; rm -rf "$work"' EXIT
mkdir "$work/manifests"

bash examples/cert-manager/standalone/make-secret.sh game.example.com \
    "$work/manifests/secret.yaml"
# the certificate alone, for curl --cacert (self-signed: it is its own CA)
sed -n 's/^  tls.crt: //p' "$work/manifests/secret.yaml" | base64 -d \
    > "$work/tls.crt"
cp examples/cert-manager/gateway.yaml \
    examples/cert-manager/standalone/gatewayclass.yaml \
    examples/cert-manager/standalone/backend.yaml "$work/manifests/"

/usr/bin/python3 examples/games/backends/serve.py --listen 127.0.0.1:9080 \
    --root examples/games/backends/mario &

offset=0
[ "$(id -u)" -ne 0 ] && offset=8000
echo "run: curl -H 'Host: game.example.com' http://127.0.0.1:$((80 + offset))/"
echo "run: curl --cacert $work/tls.crt --resolve game.example.com:$((443 + offset)):127.0.0.1 https://game.example.com:$((443 + offset))/"
echo "run: status: build/ngx-gateway status --state-dir $work/state -o describe"
./build/ngx-gateway run -f "$work/manifests" --state-dir "$work/state" \
    --port-offset "$offset"
