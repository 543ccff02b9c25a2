#!/usr/bin/env bash
# Benchmarks: render time, peak RSS, change-to-serving vs. the reload floor.
#
#   make bench                      (after make built build/ngx-gateway and
#   bash bench/run.sh                build/ngx_http_gateway_module.so)
#
# Environment:
#   BENCH_SIZES="100 1000 10000"   numbers of HTTPRoutes to measure
#   BENCH_REPEAT=5                 runs per figure (medians are reported)
#   BENCH_PORT_OFFSET=0            passed as --port-offset; the gateway then
#                                  listens on 18080 + offset
#   BENCH_SERVICES_PER_ROUTE=1     two Services per route (default: two per
#                                  namespace), see bench/gen_routes.py
#   BENCH_SKIP_RUN=1               only render time and render RSS
#   BENCH_START_TIMEOUT=180        seconds for the first route to serve
#   BENCH_RUN_ARGS="..."           extra arguments for `ngx-gateway run`
#   BENCH_BIN=build/ngx-gateway    controller binary
#   BENCH_NO_DOCS=1                do not update docs/benchmarks.md
#   BENCH_KEEP=1                   keep the work directory (manifests,
#                                  state dirs, logs)
#
# It reports; it never fails on timing. It fails (exit 1, with logs) only
# when something does not work: a render error, a route that never serves.
# Every process it starts is stopped on exit. See docs/benchmarks.md.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
LIB="$ROOT/bench/benchlib.py"
GEN="$ROOT/bench/gen_routes.py"
ECHO_SERVER="$ROOT/test/backends/echo.py"
DOCS="$ROOT/docs/benchmarks.md"

BIN=${BENCH_BIN:-$ROOT/build/ngx-gateway}
SIZES=${BENCH_SIZES:-100 1000 10000}
REPEAT=${BENCH_REPEAT:-5}
OFFSET=${BENCH_PORT_OFFSET:-0}
START_TIMEOUT=${BENCH_START_TIMEOUT:-180}
PORT=$((18080 + OFFSET))
BACKEND_ADDR=127.0.0.50
BACKEND_PORT=8080
export PATH="$PATH:/usr/sbin:/sbin"

SPR=()
if [ -n "${BENCH_SERVICES_PER_ROUTE:-}" ]; then
    SPR=(--services-per-route)
fi
OFFSET_ARGS=()
if [ "$OFFSET" != 0 ]; then
    OFFSET_ARGS=(--port-offset "$OFFSET")
fi
read -r -a RUN_EXTRA <<< "${BENCH_RUN_ARGS:-}"

WORK=$(mktemp -d /tmp/ngx-gateway-bench.XXXXXX)
PIDS=()          # processes this script started (controller, backend)
STATE_DIRS=()    # state dirs whose nginx must be gone on exit

log() { printf '%s\n' "bench: $*" >&2; }

# SIGTERM pid $1, wait up to $2 seconds for it to exit, then SIGKILL it.
# (A zombie child counts as exited; `wait` reaps it.)
stop_pid() {
    local pid=$1 limit=${2:-10} i=0
    if kill -TERM "$pid" 2>/dev/null; then
        while [ -e "/proc/$pid" ] &&
              ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
        do
            if [ "$i" -ge $((limit * 20)) ]; then
                log "pid $pid ignored SIGTERM for ${limit}s, sending SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.05
            i=$((i + 1))
        done
    fi
    wait "$pid" 2>/dev/null || true
}

# The nginx master of a state dir, if one is still running.
nginx_master() {
    local sd=$1 f pid
    for f in "$sd/nginx.pid" "$sd/logs/nginx.pid" "$sd/run/nginx.pid"; do
        [ -r "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null) || continue
        [ -n "$pid" ] || continue
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = nginx ]; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

stop_nginx() {
    local sd=$1 pid kids
    pid=$(nginx_master "$sd") || return 0
    log "nginx master $pid of $sd still running; stopping it"
    kids=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null || true)
    stop_pid "$pid" 10
    for k in $kids; do
        [ "$(cat "/proc/$k/comm" 2>/dev/null)" = nginx ] && stop_pid "$k" 2
    done
    return 0
}

cleanup() {
    local rc=$? pid sd
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid" 30
    done
    for sd in "${STATE_DIRS[@]}"; do
        stop_nginx "$sd"
    done
    if [ -n "${BENCH_KEEP:-}" ]; then
        log "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

forget_pid() {
    local keep=() p
    for p in "${PIDS[@]}"; do
        [ "$p" = "$1" ] || keep+=("$p")
    done
    PIDS=("${keep[@]}")
}

# Print what helps to see why, then exit 1 (cleanup runs from the trap).
fail() {
    local sd=${2:-}
    log "FAILED: $1"
    if [ -n "$sd" ]; then
        if [ -f "$sd/../run.log" ]; then
            log "--- controller output (last 40 lines) ---"
            tail -n 40 "$sd/../run.log" >&2 || true
        fi
        if [ -f "$sd/logs/error.log" ]; then
            log "--- $sd/logs/error.log (last 20 lines) ---"
            tail -n 20 "$sd/logs/error.log" >&2 || true
        fi
        log "--- ngx-gateway status ---"
        timeout 10 "$BIN" status --state-dir "$sd" -o json 2>&1 |
            head -n 60 >&2 || true
    fi
    exit 1
}

start_backend() {
    local logf="$WORK/echo.log" i=0 pid
    "$PY" "$LIB" port-free "$BACKEND_ADDR" "$BACKEND_PORT" ||
        fail "$BACKEND_ADDR:$BACKEND_PORT is in use (another benchmark?)"
    "$PY" "$ECHO_SERVER" --listen "$BACKEND_ADDR:$BACKEND_PORT" \
        --namespace bench-0 --service bench-v1 --pod bench-v1-0-0 \
        > "$logf" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    until grep -q '^listening on' "$logf" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            cat "$logf" >&2
            fail "echo backend exited"
        fi
        [ "$i" -lt 200 ] || fail "echo backend did not start within 10 s"
        sleep 0.05
        i=$((i + 1))
    done
    log "echo backend on $BACKEND_ADDR:$BACKEND_PORT (pid $pid)"
}

bench_one() {
    local n=$1 dir="$WORK/$1/manifests" sd="$WORK/$1/state"
    local render_ms render_kib run_kib="" change_ms="" floor_ms=""
    local run_pid last

    mkdir -p "$WORK/$n"
    "$PY" "$GEN" "$n" "$dir" "${SPR[@]}"
    log "N=$n: manifests $(du -sh "$dir" | cut -f1)," \
        "$(find "$dir" -name '*.yaml' | wc -l) files"

    # 1. render time: median of REPEAT runs (after one untimed warm-up)
    render_ms=$("$PY" "$LIB" time-cmd --runs "$REPEAT" -- \
        "$BIN" render -f "$dir") || fail "render of $n routes failed"

    # 2. render peak RSS
    /usr/bin/time -f '%M' -o "$WORK/$n/render.rss" \
        "$BIN" render -f "$dir" > "$WORK/$n/render.conf" ||
        fail "render of $n routes failed"
    render_kib=$(tail -n 1 "$WORK/$n/render.rss")
    log "N=$n: render ${render_ms} ms, peak RSS ${render_kib} KiB," \
        "config $(wc -l < "$WORK/$n/render.conf") lines"

    if [ -z "${BENCH_SKIP_RUN:-}" ]; then
        # 3. change-to-serving and the reload floor, on a running controller
        "$PY" "$LIB" port-free 127.0.0.1 "$PORT" ||
            fail "127.0.0.1:$PORT is in use; set BENCH_PORT_OFFSET"
        mkdir -p "$sd"
        STATE_DIRS+=("$sd")
        "$BIN" run -f "$dir" --state-dir "$sd" --default-address 127.0.0.1 \
            "${OFFSET_ARGS[@]}" "${RUN_EXTRA[@]}" > "$WORK/$n/run.log" 2>&1 &
        run_pid=$!
        PIDS+=("$run_pid")
        log "N=$n: controller pid $run_pid, state dir $sd"

        "$PY" "$LIB" wait-http --port "$PORT" --pid "$run_pid" \
            --host route-0.bench.example.com --path /api/0/a \
            --timeout "$START_TIMEOUT" > "$WORK/$n/startup.ms" ||
            fail "route-0 never served (N=$n)" "$sd"
        log "N=$n: first route served $(cat "$WORK/$n/startup.ms") ms" \
            "after start"
        sleep 1   # let the start-up settle (status writes, old workers)

        change_ms=$("$PY" "$LIB" change --dir "$dir" --routes "$n" \
            --port "$PORT" --pid "$run_pid" --repeat "$REPEAT" \
            --timeout 60 "${SPR[@]}") ||
            fail "a new route never served (N=$n)" "$sd"

        last=$((n + REPEAT - 1))
        floor_ms=$("$PY" "$LIB" floor --state-dir "$sd" --port "$PORT" \
            --host "route-$last.bench.example.com" --path "/api/$last/a" \
            --repeat "$REPEAT" --timeout 60) ||
            fail "nginx did not serve after SIGHUP (N=$n)" "$sd"

        # 4. the controller's own peak RSS (VmHWM) over the whole run
        run_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$run_pid/status" \
            2>/dev/null || true)
        kill -0 "$run_pid" 2>/dev/null ||
            fail "controller exited during the benchmark" "$sd"

        stop_pid "$run_pid" 30
        forget_pid "$run_pid"
        if nginx_master "$sd" > /dev/null; then
            log "N=$n: WARNING: nginx still running after the controller" \
                "stopped"
            stop_nginx "$sd"
        fi
        log "N=$n: change-to-serving ${change_ms} ms, floor ${floor_ms} ms," \
            "controller VmHWM ${run_kib:-?} KiB"
    fi

    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$render_ms" "$render_kib" \
        "${run_kib:--}" "${change_ms:--}" "${floor_ms:--}" \
        >> "$WORK/results.tsv"
    [ -n "${BENCH_KEEP:-}" ] || rm -rf "${WORK:?}/$n"
}

# The exact command, for the record.
command_line() {
    local cmd="bash bench/run.sh" v prefix=""
    [ -z "${MAKELEVEL:-}" ] || cmd="make bench"
    for v in BENCH_SIZES BENCH_REPEAT BENCH_PORT_OFFSET BENCH_BIN \
             BENCH_SERVICES_PER_ROUTE BENCH_SKIP_RUN BENCH_RUN_ARGS; do
        if [ -n "${!v:-}" ]; then
            prefix+="$v='${!v}' "
        fi
    done
    printf '%s%s' "$prefix" "$cmd"
}

main() {
    [ -x "$BIN" ] || fail "$BIN not found; build it first (make)"
    command -v nginx > /dev/null || fail "nginx not found"
    : > "$WORK/results.tsv"
    log "sizes: $SIZES; $REPEAT runs each; work dir $WORK"
    if [ -z "${BENCH_SKIP_RUN:-}" ]; then
        start_backend
    fi
    for n in $SIZES; do
        case $n in
            ''|*[!0-9]*|0) fail "bad size in BENCH_SIZES: $n" ;;
        esac
        bench_one "$n"
    done

    local docs_args=(--docs "$DOCS")
    [ -z "${BENCH_NO_DOCS:-}" ] || docs_args=()
    echo
    "$PY" "$LIB" report --results "$WORK/results.tsv" \
        --command "$(command_line)" "${docs_args[@]}"
}

main "$@"
