#!/usr/bin/env bash
# Kill-and-restart tests of checkpoints and exactly-once output (docs/fault-tolerance.md).
#
# A finite pipeline — single_file (JSON, 200k lines) -> filter/project -> single_file sink — runs
# with --state-dir and a 100ms checkpoint interval. It is killed (kill -9 at random times, and
# the fault points after_checkpoint, before_metadata, sink_commit and after_rows) and restarted
# with the same state dir until it finishes; its output must then equal the output of an
# uninterrupted run: byte for byte at parallelism 1, the same lines (sorted) at parallelism 4,
# whose rebalanced rows reach the sink in any order. Also: resuming at another parallelism,
# SIGINT (stop with a final checkpoint) and restart, a corrupt checkpoint (fallback to the
# previous one), and a state dir of another query (refused, unless --ignore-state).
#
# Usage: kill_restart.sh path/to/sluice [seed]
set -u
SLUICE=${1:?usage: kill_restart.sh path/to/sluice [seed]}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fault_begin kill_restart "${2:-$$}"

python3 - "$work/in.json" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(200000):
        f.write(json.dumps({"id": i, "name": "n%d" % (i % 97), "amount": (i * 37) % 1000 / 10.0}) + "\n")
PY

query() {  # query FILE THRESHOLD [INPUT]
  cat > "$1" <<SQL
CREATE TABLE src (id BIGINT, name TEXT, amount DOUBLE) WITH (
  connector = 'single_file', path = '${3:-$work/in.json}', format = 'json', type = 'source');
CREATE TABLE out WITH (
  connector = 'single_file', path = '$work/out.json', format = 'json', type = 'sink');
INSERT INTO out SELECT id, upper(name) AS name, amount * 2 AS doubled FROM src WHERE amount > $2;
SQL
}
query "$work/q.sql" 20

# The uninterrupted run.
"$SLUICE" run "$work/q.sql" --parallelism 1 2>/dev/null
check "uninterrupted run" $?
cp "$work/out.json" "$work/expected.json"
sort "$work/expected.json" > "$work/expected.sorted"
lines=$(wc -l < "$work/expected.json")
[ "$lines" -eq 159800 ]
check "uninterrupted output has every row ($lines)" $?

# The source's chain sleeps 15ms per batch of 1000 rows, so a run lasts about 3 seconds and
# the queues stay short (a barrier queues behind the rows emitted before it).
export SLUICE_FAULT_SLOW='slow:watermark:15000'
# One attempt. The function execs sluice: call it as `attempt 1` in the foreground, or as
# `run 1 &` whose $! is then sluice itself, for kill.
run() {  # run PARALLELISM [extra args]
  local p=$1
  shift
  SLUICE_FAULT="$SLUICE_FAULT_SLOW${FAULT:+,$FAULT}" exec "$SLUICE" run "$work/q.sql" \
    --parallelism "$p" --set batch_size=1000 --state-dir "$work/state" \
    --checkpoint-interval 100ms "$@" 2>>"$work/log.txt"
}
attempt() {
  { (run "$@"); } 2>/dev/null  # no "Killed" notice from bash
}

# Output equal to the uninterrupted run's, and no part files left.
same_output() {  # same_output PARALLELISM-OF-THE-LAST-RUN NAME
  if [ "$1" -eq 1 ]; then
    cmp -s "$work/out.json" "$work/expected.json"
  else
    sort "$work/out.json" | cmp -s - "$work/expected.sorted"
  fi
  check "$2: output equals the uninterrupted run's ($(wc -l < "$work/out.json") lines)" $?
  [ -z "$(ls "$work" | grep -E 'out\.json\.(pending|inprogress)')" ]
  check "$2: no part files left" $?
}

fresh() {
  rm -rf "$work/state" "$work/out.json"* "$work/log.txt"
}

# Random kill -9s (`count` of them, at 0.1 to 0.9 s into a run), then runs to the end.
# `parallelisms` lists the parallelism of each attempt, cycled.
random_kills() {  # random_kills NAME COUNT PARALLELISM...
  local name=$1 count=$2
  shift 2
  local ps=("$@") attempt=0 done_kills=0 p rc
  fresh
  while true; do
    p=${ps[$((attempt % ${#ps[@]}))]}
    attempt=$((attempt + 1))
    if [ $done_kills -lt "$count" ]; then
      run "$p" &
      local pid=$!
      sleep "0.$((RANDOM % 9 + 1))"
      if kill -9 $pid 2>/dev/null; then
        done_kills=$((done_kills + 1))
        kills=$((kills + 1))
      fi
      wait $pid 2>/dev/null
      rc=$?
    else
      attempt "$p"
      rc=$?
    fi
    [ $rc -eq 0 ] && break
    if [ $rc -ne 137 ] || [ $attempt -gt $((count + 10)) ]; then
      check "$name: attempt $attempt exited $rc" 1
      tail -5 "$work/log.txt"
      return
    fi
  done
  same_output "$p" "$name ($done_kills kills)"
}

random_kills "parallelism 1" 8 1
random_kills "parallelism 4" 8 4
random_kills "parallelism 4, then 1, alternating" 6 4 1

# Fault points: crash there once, then run to the end.
fault_then_finish() {  # fault_then_finish POINT PARALLELISM
  fresh
  FAULT=$1 attempt "$2"
  local rc=$?
  [ $rc -eq 137 ]
  check "$1 at parallelism $2 crashes the run (exit $rc)" $?
  [ $rc -eq 137 ] && kills=$((kills + 1))
  grep -q "fault injected: $1" "$work/log.txt"
  check "$1 at parallelism $2 is reported" $?
  attempt "$2"
  check "$1 at parallelism $2: the restart finishes" $?
  same_output "$2" "$1 at parallelism $2"
}
for p in 1 4; do
  fault_then_finish after_checkpoint:3 $p
  fault_then_finish before_metadata:3 $p
  fault_then_finish sink_commit:4 $p
  fault_then_finish 'after_rows:single_file sink:70000' $p
done

# Several crashes in a row: a commit, then right after the checkpoint that follows it.
fresh
FAULT=sink_commit:2 attempt 1
rc1=$?
FAULT=after_checkpoint:5 attempt 4
rc2=$?
FAULT=sink_commit:7 attempt 1
rc3=$?
attempt 4
check "three fault points in a row, then the end (exits $rc1 $rc2 $rc3)" $?
[ $rc1 -eq 137 ] && [ $rc2 -eq 137 ] && [ $rc3 -eq 137 ]
check "three fault points in a row crash" $?
kills=$((kills + 3))
same_output 4 "three fault points in a row"

# SIGINT: stop with a final checkpoint; what is written is a prefix of the output, complete
# lines without duplicates; a restart finishes the rest.
fresh
run 1 &
pid=$!
sleep 1
kill -INT $pid
wait $pid 2>/dev/null
check "SIGINT exits 0" $?
grep -q "taking a final checkpoint" "$work/log.txt"
check "SIGINT announces the final checkpoint" $?
stopped=$(wc -l < "$work/out.json")
[ "$stopped" -gt 0 ] && [ "$stopped" -lt "$lines" ] &&
  cmp -s "$work/out.json" <(head -n "$stopped" "$work/expected.json")
check "after SIGINT the output is a prefix of the full output ($stopped lines)" $?
grep -q "kind stop" "$work"/state/chk-*/_metadata
check "the final checkpoint of a stop is recorded" $?
attempt 1
check "restart after SIGINT finishes" $?
grep -q "resuming from checkpoint" "$work/log.txt"
check "restart after SIGINT resumes from a checkpoint" $?
same_output 1 "SIGINT and restart"
# A finished run restarted does nothing more.
attempt 1
same_output 1 "restart of a finished run"

# A corrupt latest checkpoint: the restore falls back to the previous one and says so.
fresh
FAULT=after_checkpoint:4 attempt 1
latest=$(ls -d "$work"/state/chk-* | sed 's/.*chk-//' | sort -n | tail -1)
[ "$latest" = 4 ]
check "the crash left checkpoint 4 as the latest (got $latest)" $?
python3 - "$work/state/chk-4/0-0.state" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-3] ^= 0xFF
open(p, "wb").write(bytes(b))
PY
attempt 1
check "restart past a corrupt checkpoint finishes" $?
grep -q "checkpoint 4 .* is unusable: .*checksum mismatch.*restoring checkpoint 3 instead" "$work/log.txt"
check "the fallback names both checkpoints" $?
same_output 1 "fallback to the previous checkpoint"

# An edited query on the same state dir (decision 0026). Another threshold only changes the
# stateless filter: the run resumes with the source's position and the sink's output, so the
# output holds the rows of threshold 20 up to the crash and of threshold 30 after it, each once.
# A source reading another file (the same rows) leaves the old position without a place: that
# is refused, unless --ignore-state.
fresh
cp "$work/in.json" "$work/in2.json"
query "$work/q.sql" 30
"$SLUICE" run "$work/q.sql" --parallelism 1 2>/dev/null
sort "$work/out.json" > "$work/other.sorted"
fresh
query "$work/q.sql" 20
FAULT=after_checkpoint:2 attempt 1
query "$work/q.sql" 30
attempt 1
rc=$?
[ $rc -eq 0 ] && grep -q "earlier version of the query: .* keep their state" "$work/log.txt"
check "an edit of the stateless filter resumes from the checkpoint (exit $rc)" $?
sort "$work/out.json" > "$work/edited.sorted"
[ -z "$(uniq -d "$work/edited.sorted")" ] &&
  [ -z "$(comm -23 "$work/other.sorted" "$work/edited.sorted")" ] &&
  [ -z "$(comm -23 "$work/edited.sorted" "$work/expected.sorted")" ] &&
  ! cmp -s "$work/edited.sorted" "$work/other.sorted"
check "the edited run continued the output: every threshold-30 row, only threshold-20 rows, none twice, some from before the edit" $?
fresh
query "$work/q.sql" 20
FAULT=after_checkpoint:2 attempt 1
query "$work/q.sql" 30 "$work/in2.json"
attempt 1
rc=$?
[ $rc -eq 1 ] && grep -q "query changed since checkpoint" "$work/log.txt" &&
  grep -q "'single_file source path=$work/in.json format=json' changed" "$work/log.txt" &&
  grep -q -- "--allow-non-restored-state" "$work/log.txt"
check "a source reading another file is refused, naming it (exit $rc)" $?
attempt 1 --ignore-state
check "--ignore-state runs the other query" $?
sort "$work/out.json" | cmp -s - "$work/other.sorted"
check "--ignore-state starts the other query from the beginning" $?
query "$work/q.sql" 20

# Bad options.
"$SLUICE" run "$work/q.sql" --state-dir "$work/state" --checkpoint-interval 10 2>"$work/err.txt"
[ $? -eq 1 ] && grep -q "use a duration with a unit" "$work/err.txt"
check "a duration without unit is refused" $?
"$SLUICE" run "$work/q.sql" --checkpoint-interval 1s 2>"$work/err.txt"
[ $? -eq 1 ] && grep -q "needs --state-dir" "$work/err.txt"
check "--checkpoint-interval without --state-dir is refused" $?
"$SLUICE" run "$work/q.sql" --state-dir 's3://bucket/x?colour=red' 2>"$work/err.txt"
[ $? -eq 1 ] && grep -q "unknown option 'colour'" "$work/err.txt"
check "a bad s3:// option is refused" $?

fault_end
