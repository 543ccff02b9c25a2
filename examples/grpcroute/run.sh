#!/usr/bin/env bash
# The seed's GRPCRoute on this machine, no cluster: two gRPC backends
# (grpc-service on 127.0.0.1:50051, internal-grpc on 127.0.0.1:50052),
# the HTTPS listener's Secret, and the controller.  Ctrl-C stops
# everything.
#
#   bash examples/grpcroute/run.sh      (after `make all`)
#
# Without root the listener's port 443 moves up by 8000 (--port-offset).
# The certificate is self-signed: the client trusts it as its own CA,
# written to $work/ca.crt.
set -euo pipefail
cd "$(dirname "$0")/../.."

here=examples/grpcroute
work=$(mktemp -d /tmp/ngx-gateway-grpcroute.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait; rm -rf "$work"' EXIT
mkdir "$work/manifests"

cp "$here/gateway.yaml" "$here/grpcroute.yaml" "$here/backends.yaml" \
    "$work/manifests/"

# the HTTPS listener's Secret my-cert, self-signed for grpc.example.com
bash examples/cert-manager/standalone/make-secret.sh grpc.example.com \
    "$work/manifests/secret.yaml" >/dev/null
sed -n 's/^  tls.crt: //p' "$work/manifests/secret.yaml" | base64 -d \
    > "$work/ca.crt"

py=/usr/bin/python3
$py test/backends/grpc_echo.py --listen 127.0.0.1:50051 \
    --name grpc-service &
$py test/backends/grpc_echo.py --listen 127.0.0.1:50052 \
    --name internal-grpc &

off=0
[ "$(id -u)" -ne 0 ] && off=8000
port=$((443 + off))
# the client: a unary call with grpcio, no .proto (bytes in, bytes out);
# it prints the gRPC status, the answer (or the error) and the trailers
client='import grpc, sys
ch = grpc.secure_channel(sys.argv[1], grpc.ssl_channel_credentials(
    open(sys.argv[2], "rb").read()),
    [("grpc.ssl_target_name_override", "grpc.example.com")])
f = ch.unary_unary(sys.argv[3]).future(b"hello", timeout=5)
print(f.code(), f.details() if f.exception() else f.result(),
      dict(f.trailing_metadata() or ()))'
printf '%s\n' "$client" > "$work/client.py"
for m in /my.grpc.Service/GetStatus /my.grpc.Service/Echo /other.Svc/Get; do
    echo "run: $py $work/client.py 127.0.0.1:$port $work/ca.crt $m"
done
echo "run: build/ngx-gateway status --state-dir $work/state -o describe"
./build/ngx-gateway run -f "$work/manifests" --state-dir "$work/state" \
    --port-offset "$off" --admin-address off
