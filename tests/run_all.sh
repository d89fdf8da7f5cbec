#!/bin/sh
# run_all.sh BUILD_DIR -- every test suite of `make test`, in order; each suite
# prints "N passed, N failed" as its last line and this script adds them up.
# Exit status is non-zero if any suite failed or printed no such line.
set -u
BUILD=${1:-build/asan}
total_pass=0
total_fail=0
broken=""

run_suite() {
        name=$1
        shift
        echo "=== $name"
        log=$(mktemp)
        "$@" 2>&1 | tee "$log"
        status=$(tail -n 50 "$log" | grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' | tail -n 1)
        rm -f "$log"
        if [ -z "$status" ]; then
                broken="$broken $name"
                total_fail=$((total_fail + 1))
                return
        fi
        p=$(echo "$status" | sed -E 's/^([A-Za-z]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/')
        f=$(echo "$status" | sed -E 's/^([A-Za-z]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/')
        total_pass=$((total_pass + p))
        total_fail=$((total_fail + f))
}

# cmocka prints its own summary; tests/unit_wrap.sh turns it into the plain line.
for t in "$BUILD"/tests/test_*; do
        [ -x "$t" ] || continue
        run_suite "unit $(basename "$t")" sh tests/unit_wrap.sh "$t"
done
for s in tests/e2e/*.sh tests/crash/*.sh; do
        [ -f "$s" ] || continue
        case "$s" in */lib.sh) continue ;; esac
        run_suite "$s" sh "$s" "$BUILD"
done
run_suite "tools tpgen" sh tests/tpgen_check.sh
run_suite "tools tploadgen" bash tests/tploadgen_check.sh

echo
[ -n "$broken" ] && echo "suites that printed no summary:$broken"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
