#!/usr/bin/env bash
# Kill-and-restart tests of stateful operators (docs/fault-tolerance.md): a tumbling and a
# sliding window aggregate (the latter resumes at its parallelism only), a session aggregate, a
# windowed join of two windowed aggregates, an interval join, a top-N per window, and into
# Debezium changelogs an updating aggregate, an updating (LEFT) join, an aggregate (min/max)
# over that join's changelog, and an updating aggregate over many keys (incremental snapshots). Each runs with --state-dir and a 100ms checkpoint interval, is
# killed (kill -9 at random times) and restarted with the same state dir — at parallelism 1 then
# 4, and 4, 1, 2, so keyed state is re-sharded on restore — until it finishes. The output must
# then equal the uninterrupted run's: the same lines (sorted) for append-only output, the same
# final table for changelogs.
#
# Usage: kill_restart_stateful.sh path/to/sluice [seed]
set -u
SLUICE=${1:?usage: kill_restart_stateful.sh path/to/sluice [seed]}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fault_begin kill_restart_stateful "${2:-$$}"

. "$(dirname "${BASH_SOURCE[0]}")/stateful_queries.sh"
stateful_queries 40000 30000 40000 20

# Each source's chain sleeps 10ms per batch of 200 rows, so that a run lasts about two
# seconds and kills land mid-run. The pipelines killed 20 times pace their sources instead
# (a source waits 25ms after each batch, so a run lasts about five seconds, whatever operators
# the query has) and are killed sooner into each run (kill_max).
export SLUICE_FAULT_SLOW='slow:watermark:10000'
kill_max=9
run() {  # run QUERY PARALLELISM
  SLUICE_FAULT="$SLUICE_FAULT_SLOW" exec "$SLUICE" run "$work/$1.sql" --parallelism "$2" \
    --set batch_size=200 --state-dir "$work/state" --checkpoint-interval 100ms 2>>"$work/log.txt"
}
attempt() {
  { (run "$@"); } 2>/dev/null
}

# Random kill -9s (`count` of them, at 0.1 to 0.<kill_max> s into a run), then runs to the end;
# `parallelisms` lists the parallelism of each attempt, cycled.
random_kills() {  # random_kills QUERY COUNT PARALLELISM...
  local q=$1 count=$2
  shift 2
  local ps=("$@") attempt=0 done_kills=0 p rc
  rm -rf "$work/state" "$work/out.json"* "$work/log.txt"
  while true; do
    p=${ps[$((attempt % ${#ps[@]}))]}
    attempt=$((attempt + 1))
    if [ $done_kills -lt "$count" ]; then
      run "$q" "$p" &
      local pid=$!
      sleep "0.$((RANDOM % kill_max + 1))"
      if kill -9 $pid 2>/dev/null; then
        done_kills=$((done_kills + 1))
        kills=$((kills + 1))
      fi
      wait $pid 2>/dev/null
      rc=$?
    else
      attempt "$q" "$p"
      rc=$?
    fi
    [ $rc -eq 0 ] && break
    if [ $rc -ne 137 ] || [ $attempt -gt $((count + 10)) ]; then
      check "$q: attempt $attempt exited $rc" 1
      tail -5 "$work/log.txt"
      return
    fi
  done
  canonical "$q" | cmp -s - "$work/$q.expected"
  check "$q, parallelism ${ps[*]} ($done_kills kills): output equals the uninterrupted run's" $?
  echo "$q, parallelism ${ps[*]}: $done_kills kills, $attempt runs"
}

# A windowed, a join and two updating pipelines are killed 20 times each, the others 12 times.
for q in window_aggregate hop_aggregate session_aggregate window_join interval_join top_n updating_aggregate updating_join updating_chain updating_many_keys; do
  rm -rf "$work/out.json"*
  "$SLUICE" run "$work/$q.sql" --parallelism 1 2>"$work/log.txt"
  check "$q: uninterrupted run" $?
  canonical "$q" > "$work/$q.expected"
  [ "$(wc -l < "$work/$q.expected")" -gt 50 ]
  check "$q: uninterrupted output has rows ($(wc -l < "$work/$q.expected"))" $?
  if [ "$q" = hop_aggregate ]; then  # sliding windows resume at the same parallelism only
    random_kills "$q" 6 1
    random_kills "$q" 6 4
  elif [ "$q" = window_aggregate ] || [ "$q" = window_join ] || [ "$q" = updating_join ] ||
    [ "$q" = updating_many_keys ]; then
    SLUICE_FAULT_SLOW='pace_sources:25000' kill_max=5 random_kills "$q" 10 1 4
    SLUICE_FAULT_SLOW='pace_sources:25000' kill_max=5 random_kills "$q" 10 4 1 2
  else
    random_kills "$q" 6 1 4
    random_kills "$q" 6 4 1 2
  fi
done

# The many-keys pipeline really takes incremental checkpoints: keeping every checkpoint of a
# run, some list earlier checkpoints' files (deltas over a full snapshot).
rm -rf "$work/state" "$work/out.json"*
SLUICE_FAULT='pace_sources:10000' "$SLUICE" run "$work/updating_many_keys.sql" --parallelism 2 \
  --set batch_size=200 --state-dir "$work/state" --checkpoint-interval 100ms \
  --checkpoints-to-keep 1000 2>"$work/log.txt"
check "updating_many_keys: run keeping every checkpoint" $?
deltas=$(grep -l '^file chk-' "$work"/state/chk-*/_metadata 2>/dev/null | wc -l)
[ "$deltas" -gt 0 ]
check "updating_many_keys: incremental checkpoints ($deltas of $(ls -d "$work"/state/chk-* | wc -l))" $?

# Resuming sliding windows at another parallelism is refused (and leaves the state usable).
rm -rf "$work/state" "$work/out.json"*
run hop_aggregate 4 &
pid=$!
sleep 0.5
{
  kill -9 $pid
  wait $pid
} 2>/dev/null
if [ -n "$(ls "$work/state" 2>/dev/null | grep chk-)" ]; then
  "$SLUICE" run "$work/hop_aggregate.sql" --parallelism 2 --state-dir "$work/state" \
    2>"$work/err.txt"
  rc=$?
  [ $rc -ne 0 ] && grep -q "different --parallelism is not supported yet" "$work/err.txt"
  check "hop_aggregate: resuming at another parallelism is refused (exit $rc)" $?
fi

fault_end
