#!/usr/bin/env bash
# Integration tests: the controller with a real nginx, the nginx module,
# the test backends and the benchmark helpers' own tests.
#
#   make integration            (builds first)
#   bash test/integration/run.sh [pytest args...]
#
# Needs build/ngx-gateway and build/ngx_http_gateway_module.so (`make all`)
# and Debian's python3 with python3-pytest and python3-yaml. Runs as root on
# CI (the Gateway listens on port 80 of 127.0.X.1); without root the tests
# add --port-offset 8000. Exit status is pytest's.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

PY=/usr/bin/python3
missing=0
for f in build/ngx-gateway build/ngx_http_gateway_module.so \
         build/ngx_stream_gateway_module.so; do
    if [ ! -f "$f" ]; then
        echo "test/integration/run.sh: $ROOT/$f is missing: run \`make all\` first" >&2
        missing=1
    fi
done
if [ ! -x "$PY" ]; then
    echo "test/integration/run.sh: $PY is missing (apt-get install python3 python3-pytest python3-yaml)" >&2
    missing=1
fi
if [ "$missing" -ne 0 ]; then
    exit 2
fi

"$PY" -m pytest -q -p no:cacheprovider test/integration test/backends bench "$@"
exit $?
