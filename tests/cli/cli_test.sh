#!/usr/bin/env bash
# End-to-end tests of the `sluice` binary: exit codes, messages, stdin, explain, and a clean
# stop of an unbounded pipeline on SIGINT. Usage: cli_test.sh path/to/sluice
set -u
SLUICE=${1:?usage: cli_test.sh path/to/sluice}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

check() {  # check NAME CONDITION-EXIT-CODE
  if [ "$2" -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $1"
  fi
}

# --version and help.
"$SLUICE" --version | grep -q '^sluice [0-9]'
check "--version prints the version" $?
"$SLUICE" help | grep -q 'run'
check "help lists subcommands" $?
"$SLUICE" explain --help | grep -q 'parallelism'
check "explain --help shows its options" $?

# A finite pipeline from standard input exits 0 and prints JSON lines.
out=$(printf "%s\n" "CREATE TABLE t WITH (connector = 'impulse', event_rate = '100000', message_count = '3');" \
  "SELECT counter + 1 AS n FROM t;" | "$SLUICE" run - --parallelism 1 2>/dev/null)
check "stdin pipeline exits 0" $?
[ "$(echo "$out" | sort)" = "$(printf '{"n":1}\n{"n":2}\n{"n":3}')" ]
check "stdin pipeline output" $?

# A SQL error: non-zero exit, one message on stderr naming line and column.
echo "CREATE TABLE t WITH (connector = 'impulse', event_rate = '1'); SELECT nope FROM t;" > "$work/bad.sql"
err=$("$SLUICE" run "$work/bad.sql" 2>&1 >/dev/null)
code=$?
[ $code -ne 0 ]
check "bad SQL exits non-zero" $?
echo "$err" | grep -q 'line 1, column 71: column "nope" does not exist'
check "bad SQL message names line and column (got: $err)" $?

# A missing file is reported, not a crash.
"$SLUICE" run "$work/missing.sql" 2>"$work/err.txt"
[ $? -eq 1 ] && grep -q "cannot read" "$work/err.txt"
check "missing SQL file" $?

# explain shows the plan and the graph.
cat > "$work/x.sql" <<SQL
CREATE TABLE t WITH (connector = 'impulse', event_rate = '10', message_count = '10');
CREATE TABLE o WITH (connector = 'single_file', path = '$work/o.json', format = 'json', type = 'sink');
INSERT INTO o SELECT counter FROM t WHERE counter > 5;
SQL
plan=$("$SLUICE" explain "$work/x.sql" --parallelism 3)
echo "$plan" | grep -q 'Filter' && echo "$plan" | grep -q 'parallelism 3' &&
  echo "$plan" | grep -q 'rebalance'
check "explain shows filter, parallelism and edges" $?

# An unbounded pipeline stops cleanly on SIGINT: exit 0, whole lines, nothing lost (counters
# of a single subtask are contiguous from 0).
cat > "$work/u.sql" <<SQL
CREATE TABLE t WITH (connector = 'impulse', event_rate = '2000');
CREATE TABLE o WITH (connector = 'single_file', path = '$work/u.json', format = 'json', type = 'sink');
INSERT INTO o SELECT counter FROM t;
SQL
"$SLUICE" run "$work/u.sql" --parallelism 1 2>/dev/null &
pid=$!
sleep 1.5
kill -INT $pid
wait $pid
check "SIGINT exits 0" $?
lines=$(wc -l < "$work/u.json")
[ "$lines" -gt 100 ]
check "rows were written before the stop ($lines)" $?
python3 - "$work/u.json" <<'PY'
import json, sys
vals = [json.loads(l)["counter"] for l in open(sys.argv[1])]
sys.exit(0 if sorted(vals) == list(range(len(vals))) else 1)
PY
check "every emitted row reached the file, each once" $?

echo "cli: $passed passed, $failed failed"
[ $failed -eq 0 ]
