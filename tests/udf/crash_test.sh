#!/usr/bin/env bash
# A C++ UDF that dereferences a null pointer: C++ UDFs run inside the Sluice process
# (docs/udf.md, decision 0015), so `sluice run` dies by SIGSEGV, after naming the function on
# stderr. The rows before the crash were not acknowledged (no checkpoint), so nothing is lost
# that was promised. Usage: crash_test.sh path/to/sluice
set -u
sluice=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export SLUICE_UDF_CACHE_DIR=${SLUICE_UDF_CACHE_DIR:-$dir/cache}
printf '%s\n' '{"id": 1}' '{"id": 2}' '{"id": 3}' > "$dir/in.json"
cat > "$dir/crash.sql" <<SQL
CREATE TABLE t (id BIGINT) WITH (connector = 'single_file', path = '$dir/in.json', format = 'json', type = 'source');
CREATE TABLE out WITH (connector = 'single_file', path = '$dir/out.json', format = 'json', type = 'sink');
CREATE FUNCTION boom(x BIGINT) RETURNS BIGINT LANGUAGE cpp AS \$\$
int64_t boom(int64_t x) {
  volatile int64_t* p = nullptr;
  if (x == 2) return *p;
  return x;
}
\$\$;
INSERT INTO out SELECT boom(id) AS b FROM t;
SQL
"$sluice" run "$dir/crash.sql" > "$dir/stdout" 2> "$dir/stderr"
status=$?
fail() { echo "FAIL: $*"; echo "--- stderr:"; cat "$dir/stderr"; exit 1; }
# 128 + SIGSEGV (11): the process died by the signal, as any crash does.
[ "$status" -eq 139 ] || fail "expected exit status 139 (SIGSEGV), got $status"
grep -q "sluice: fatal: segmentation fault (SIGSEGV) in user-defined function boom()" "$dir/stderr" ||
  fail "stderr does not name the function"

# The same function over rows that do not crash runs to the end (the handler changes nothing
# for a UDF that does not crash).
printf '%s\n' '{"id": 1}' '{"id": 3}' > "$dir/in.json"
"$sluice" run "$dir/crash.sql" > "$dir/stdout" 2> "$dir/stderr" || fail "run without the crashing row failed"
[ "$(sort "$dir/out.json" | tr -d '\n')" = '{"b":1}{"b":3}' ] || fail "unexpected output $(cat "$dir/out.json")"
echo "PASS: udf crash"
