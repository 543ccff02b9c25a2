#!/usr/bin/env bash
# `make test`: build, then every suite; ends with the totals.
set -u
cd "$(dirname "$0")/.."

status=0
passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# count N passed / M failed from a suite's output
count() {
    local line p f
    line=$(grep -aE '[0-9]+ (passed|failed)' "$out" | tail -1)
    p=$(printf '%s' "$line" | sed -nE 's/.*[^0-9]([0-9]+) passed.*/\1/p;s/^([0-9]+) passed.*/\1/p' | head -1)
    f=$(printf '%s' "$line" | sed -nE 's/.*[^0-9]([0-9]+) (failed|errors?).*/\1/p;s/^([0-9]+) failed.*/\1/p' | head -1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
}

run() {
    local name=$1; shift
    echo "== $name"
    "$@" 2>&1 | tee "$out"
    local rc=${PIPESTATUS[0]}
    count
    if [ "$rc" -ne 0 ]; then
        echo "== $name FAILED (exit $rc)"
        status=1
    fi
}

echo "== build"
if ! make -j2 all; then
    echo "== build FAILED"
    echo "total: 0 passed, 1 failed"
    exit 1
fi

run unit make -s unit
run unit-asan make -s unit-asan
run golden make -s golden
run integration make -s integration
run conformance make -s conformance
run kube make -s kube
run chart make -s chart
run style make -s check-style

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1
fi
echo
echo "total: $passed passed, $failed failed"
exit "$status"
