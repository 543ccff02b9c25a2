#!/usr/bin/env bash
# The seed's mixed gateway on this machine, no cluster: local backends,
# the HTTPS listener's Secret, the TLS service's certificate, and the
# controller. Ctrl-C stops everything.
#
#   bash examples/mixed-gateway/run.sh          the example (gateway.yaml,
#                                               routes.yaml: every L4 kind
#                                               carries traffic)
#   bash examples/mixed-gateway/run.sh --seed   the seed's file as written
#                                               (the TLSRoute is refused)
#
# Without root every listener port moves up by 8000 (--port-offset).
set -euo pipefail
cd "$(dirname "$0")/../.."

here=examples/mixed-gateway
work=$(mktemp -d /tmp/ngx-gateway-mixed.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait; rm -rf "$work"' EXIT
mkdir "$work/manifests"

if [ "${1:-}" = --seed ]; then
    cp "$here/seed/mixed-gateway.yaml" "$work/manifests/"
else
    cp "$here/gateway.yaml" "$here/routes.yaml" "$work/manifests/"
fi
cp "$here/backends.yaml" "$work/manifests/"

# the HTTPS listener's Secret my-cert, as cert-manager would write it
bash examples/cert-manager/standalone/make-secret.sh example.com \
    "$work/manifests/secret.yaml" >/dev/null

# the passthrough backend terminates TLS itself, with its own certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -days 2 -subj /CN=tls.example.com \
    -addext subjectAltName=DNS:tls.example.com \
    -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null

py=/usr/bin/python3
$py examples/games/backends/serve.py --listen 127.0.0.1:9080 \
    --root "$here/backends/web" &
openssl s_server -quiet -accept 127.0.0.1:9443 -cert "$work/tls.crt" \
    -key "$work/tls.key" -www &
$py "$here/backends/grpc_status.py" --listen 127.0.0.1:9051 &
$py "$here/backends/line_echo.py" --listen 127.0.0.1:9306 --name mysql-db &
$py "$here/backends/line_echo.py" --listen 127.0.0.1:9307 --name db-proxy &

off=0
[ "$(id -u)" -ne 0 ] && off=8000
cat <<MSG
run: curl http://127.0.0.1:$((80 + off))/
run: curl -k https://127.0.0.1:$((443 + off))/
run: openssl s_client -connect 127.0.0.1:$((443 + off)) -servername tls.example.com </dev/null
run: curl -k --resolve tls.example.com:$((443 + off)):127.0.0.1 https://tls.example.com:$((443 + off))/
run: python3 -c 'import grpc; print(grpc.insecure_channel("127.0.0.1:$((50051 + off))").unary_unary("/my.grpc.Service/GetStatus")(b"ping"))'
run: curl http://127.0.0.1:$((50051 + off))/
run: echo 'SELECT 1;' | nc -q1 127.0.0.1 $((3306 + off))
run: build/ngx-gateway status --state-dir $work/state -o describe
MSG
./build/ngx-gateway run -f "$work/manifests" --state-dir "$work/state" \
    --port-offset "$off" --controller-name nginx.org/gateway-controller \
    --admin-address off
