#!/bin/sh
# unit_wrap.sh TEST_BINARY -- run one cmocka binary and close with the plain
# "N passed, N failed" line that tests/run_all.sh adds up.
bin=$1
out=$(mktemp)
"$bin" >"$out" 2>&1
rc=$?
cat "$out"
pass=$(grep -c '^\[       OK \]' "$out")
fail=$(grep -c '^\[  FAILED  \]' "$out" | head -1)
# cmocka lists failed tests twice (as they fail and in the summary); count names once.
fail=$(grep '^\[  FAILED  \] ' "$out" | grep -v 'test(s), listed below' | sort -u | wc -l)
rm -f "$out"
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        fail=1 # crashed or a sanitizer stopped it
fi
echo "$pass passed, $fail failed"
