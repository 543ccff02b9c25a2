#!/usr/bin/env bash
# `make demo`: the games walkthrough on this machine.  Starts the two game
# backends and the standalone controller (which starts nginx); Ctrl-C stops
# all of them.
set -u
cd "$(dirname "$0")/../.."

PY=/usr/bin/python3
STATE=${STATE_DIR:-/tmp/ngx-gateway-demo}
OFFSET=${PORT_OFFSET:-0}
pids=()

stop() {
    trap - INT TERM EXIT
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null
    done
    echo "demo: stopped"
}
trap stop INT TERM EXIT

if [ "$(id -u)" -ne 0 ] && [ "$OFFSET" -eq 0 ]; then
    echo "demo: not root, so ports 80 cannot be bound: using PORT_OFFSET=8000"
    OFFSET=8000
fi

# the "pods": mario on 127.0.0.11:8080, tetris on 127.0.0.12:80 (endpoints.yaml)
tetris_port=80
[ "$(id -u)" -ne 0 ] && echo "demo: tetris needs port 80 on 127.0.0.12: run as root for the full walkthrough"
$PY examples/games/backends/serve.py --listen 127.0.0.11:8080 \
    --root examples/games/backends/mario & pids+=($!)
$PY examples/games/backends/serve.py --listen 127.0.0.12:$tetris_port \
    --root examples/games/backends/tetris & pids+=($!)

./build/ngx-gateway run -f examples/games --state-dir "$STATE" \
    --port-offset "$OFFSET" & pids+=($!)

port=$((80 + OFFSET))
for _ in $(seq 1 100); do
    if curl -s -o /dev/null -H 'Host: game.example.com' \
            "http://127.0.0.1:$port/mario"; then
        break
    fi
    sleep 0.1
done

cat <<MSG

The games are served by nginx, programmed by ngx-gateway:

  curl -H 'Host: game.example.com' http://127.0.0.1:$port/mario
  curl -H 'Host: game.example.com' http://127.0.0.1:$port/tetris

Status as kubectl describe would show it:

  ./build/ngx-gateway status --state-dir $STATE -o describe

Edit or remove files in examples/games/ and watch the log. Ctrl-C stops everything.

MSG

wait "${pids[2]}"
