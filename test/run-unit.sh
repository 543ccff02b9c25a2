#!/usr/bin/env bash
# Runs cmocka test binaries from the repo root; prints one summary line:
#   <suite>: N passed, M failed
set -u
suite=$1; shift
passed=0; failed=0; bad=0
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    if [ "$rc" -ne 0 ] || [ -z "$p" ]; then
        bad=1
        printf '%s\n' "$out" | tail -40
        echo "$suite: $t exited $rc"
        [ -z "$p$f" ] && failed=$((failed + 1))
    fi
done
echo "$suite: $passed passed, $failed failed"
[ "$bad" -eq 0 ] && [ "$failed" -eq 0 ]
