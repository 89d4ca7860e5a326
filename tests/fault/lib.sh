# Shared by the kill-and-restart scripts (sourced; bash): the work dir, the pass/fail counters,
# and how outputs are compared across runs.
#
#   fault_begin NAME SEED   print the seed and seed $RANDOM with it; make $work (removed at exit,
#                           after running $fault_on_exit when a script sets it)
#   check NAME STATUS       count a check that passed (STATUS 0) or failed (printed)
#   canonical QUERY         $work/out.json made comparable: its lines sorted, or for a query
#                           whose name starts with updating_ (a Debezium changelog) the final
#                           table it describes, one sorted row per line
#   wait_for_line PATTERN FILE [SECONDS] [INTERVAL]
#                           poll until a line of FILE matches PATTERN (grep): status 0, or 1
#                           after SECONDS / INTERVAL polls (60 s, every 0.1 s: the sanitizer
#                           build is slow)
#   fault_end               print the totals; exit status 0 when every check passed

wait_for_line() {
  local seconds=${3:-60} interval=${4:-0.1} tries
  tries=$(awk -v s="$seconds" -v i="$interval" 'BEGIN { print int(s / i) }')
  for _ in $(seq "$tries"); do
    grep -q "$1" "$2" 2>/dev/null && return 0
    sleep "$interval"
  done
  return 1
}

fault_begin() {
  fault_name=$1
  seed=$2
  RANDOM=$seed
  echo "$fault_name: seed $seed"
  work=$(mktemp -d)
  passed=0
  failed=0
  kills=0
  fault_on_exit=""
  trap 'if [ -n "$fault_on_exit" ]; then eval "$fault_on_exit"; fi; rm -rf "$work"' EXIT
}

check() {  # check NAME CONDITION-EXIT-CODE
  if [ "$2" -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $1"
  fi
}

# The final table a Debezium changelog describes, one sorted row per line; a row deleted more
# often than inserted shows as "NEGATIVE <row>", so it cannot compare equal by accident.
final_table() {  # final_table CHANGELOG-FILE
  python3 - "$1" <<'PY'
import collections, json, sys
rows = collections.Counter()
for line in open(sys.argv[1]):
    e = json.loads(line)
    p = e.get("payload", e)
    if p.get("before") is not None and p["op"] in ("u", "d"):
        rows[json.dumps(p["before"], sort_keys=True)] -= 1
    if p.get("after") is not None and p["op"] in ("c", "r", "u"):
        rows[json.dumps(p["after"], sort_keys=True)] += 1
out = []
for r, n in rows.items():
    if n < 0:
        out.append("NEGATIVE " + r)
    out.extend([r] * max(n, 0))
print("\n".join(sorted(out)))
PY
}

canonical() {  # canonical QUERY
  if [ "${1#updating_}" != "$1" ]; then
    final_table "$work/out.json"
  else
    sort "$work/out.json"
  fi
}

fault_end() {
  echo "$fault_name: $passed passed, $failed failed, $kills crashes survived${1:+, $1}"
  [ "$failed" -eq 0 ]
}
