#!/usr/bin/env bash
# The multi-cluster TCP exercise on this machine, no cluster: the
# "database" (a line echo on 127.0.0.33:3306) and one controller serving
# both clusters' Gateways (cluster A on 127.0.0.31, cluster B on
# 127.0.0.32). Ctrl-C stops everything.
#
#   bash examples/multi-cluster-tcp/run.sh
#
# Every port is 3306, so no root is needed. Something else listening on
# port 3306 of every address (a local MySQL on 0.0.0.0:3306) is in the
# way: stop it first.
set -euo pipefail
cd "$(dirname "$0")/../.."

here=examples/multi-cluster-tcp
work=$(mktemp -d /tmp/ngx-gateway-multicluster.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait; rm -rf "$work"' EXIT

/usr/bin/python3 examples/mixed-gateway/backends/line_echo.py \
    --listen 127.0.0.33:3306 --name mysql-db &

cat <<MSG
run: python3 -c 'import socket; s = socket.create_connection(("127.0.0.31", 3306)); s.sendall(b"SELECT 1;\n"); print(s.recv(100).decode(), end="")'
run: echo 'SELECT 1;' | nc -q1 127.0.0.31 3306
run: build/ngx-gateway status --state-dir $work/state -o describe
MSG
./build/ngx-gateway run -f "$here" --state-dir "$work/state" \
    --admin-address off
