#!/usr/bin/env bash
# Coordinator and workers end to end (docs/distributed.md): one `sluice coordinator` and two
# `sluice worker` processes on loopback run a tumbling-window aggregate, a windowed join, an
# interval join and an updating join (a Debezium changelog) over finite files; the output must
# equal `sluice run`'s at the same parallelism (sorted lines; the final table for changelogs).
# At parallelism 2 each worker has one slot; at parallelism 3 (the joins' turn) one worker has
# two. Then the
# errors: too few workers (the coordinator's timeout names who registered), an unreachable
# coordinator, and a worker killed with kill -9 mid-run (detected, the job fails with the
# worker named and the other worker leaves): without a state dir nothing can be resumed;
# recovery from checkpoints is tests/dist/recovery.sh.
#
# Usage: e2e.sh path/to/sluice [seed]
set -u
SLUICE=${1:?usage: e2e.sh path/to/sluice [seed]}
. "$(dirname "${BASH_SOURCE[0]}")/../fault/lib.sh"
fault_begin dist_e2e "${2:-$$}"
pids=()
fault_on_exit='for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done'

. "$(dirname "${BASH_SOURCE[0]}")/../fault/stateful_queries.sh"
stateful_queries 30000 20000 20000 5

# Starts the coordinator in the background (its pid in $coord); arguments go to it.
start_coordinator() {
  rm -f "$work/port"
  "$SLUICE" coordinator --port-file "$work/port" "$@" 2>"$work/coordinator.log" &
  coord=$!
  pids+=("$coord")
  for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
  port=$(cat "$work/port" 2>/dev/null)
}
start_worker() {  # start_worker NAME ARGS...
  local name=$1
  shift
  "$SLUICE" worker --coordinator "127.0.0.1:$port" --name "$name" "$@" 2>"$work/$name.log" &
  pids+=("$!")
  last_worker=$!
}

distributed() {  # distributed QUERY PARALLELISM SLOTS-OF-A
  local q=$1 p=$2 slots=$3
  rm -f "$work/out.json"
  start_coordinator "$work/$q.sql" -p "$p" --workers 2 --threads 2
  start_worker a --slots "$slots"
  local a=$last_worker
  start_worker b
  local b=$last_worker
  wait "$coord"
  check "$q, parallelism $p: coordinator exit status" $?
  wait "$a"
  check "$q, parallelism $p: worker a exit status" $?
  wait "$b"
  check "$q, parallelism $p: worker b exit status" $?
  # Both workers ran subtasks of the shuffled nodes.
  grep -q "workers 0 1" "$work/coordinator.log"
  check "$q, parallelism $p: subtasks placed on both workers" $?
  canonical "$q" | cmp -s - "$work/$q.expected"
  check "$q, parallelism $p on 2 workers: output equals sluice run's" $?
  echo "$q, parallelism $p: $(wc -l < "$work/$q.expected") output lines; $(tail -1 "$work/coordinator.log")"
}

for qp in window_aggregate:2 window_join:3 interval_join:2 updating_join:3; do
  q=${qp%:*}
  for p in ${qp#*:}; do
    rm -f "$work/out.json"
    "$SLUICE" run "$work/$q.sql" --parallelism "$p" 2>"$work/run.log"
    check "$q: sluice run -p $p" $?
    canonical "$q" > "$work/$q.expected"
    [ "$(wc -l < "$work/$q.expected")" -gt 50 ]
    check "$q: reference output has rows ($(wc -l < "$work/$q.expected"))" $?
    distributed "$q" "$p" $((p - 1))
  done
done

# Too few workers: the coordinator gives up after --worker-timeout, naming who registered; the
# worker that came is told and exits with the reason.
# (5 s: generous for the worker to register under the sanitizers on a loaded machine.)
start_coordinator "$work/window_aggregate.sql" -p 2 --workers 2 --worker-timeout 5s
start_worker lonely
wait "$coord"
check "too few workers: coordinator fails" $(($? == 0))
grep -q "1 of 2 workers registered within 5s ('lonely'); start the others with \`sluice worker --coordinator 127.0.0.1:$port\`" "$work/coordinator.log"
check "too few workers: the message names who came and how to start the others" $?
wait "$last_worker"
check "too few workers: the worker exits with an error" $(($? == 0))
grep -q "the coordinator stopped the job before it ran" "$work/lonely.log"
check "too few workers: the worker says why" $?

# No coordinator.
"$SLUICE" worker --coordinator 127.0.0.1:1 --connect-timeout 1s 2>"$work/nowhere.log"
check "unreachable coordinator: the worker fails" $(($? == 0))
grep -q "cannot reach the coordinator at '127.0.0.1:1' within 1000 ms" "$work/nowhere.log"
check "unreachable coordinator: the message says so" $?

# kill -9 of a worker mid-run (sources paced: the run lasts seconds): the coordinator detects
# the loss, fails the job naming the worker, and the other worker is cancelled and leaves.
# (300 batches of 100 rows, 25 ms apart: about 7 s uninterrupted.)
rm -f "$work/out.json"
export SLUICE_FAULT='pace_sources:25000'
start_coordinator "$work/window_aggregate.sql" -p 2 --workers 2 --heartbeat-timeout 5s \
  --set batch_size=100
start_worker a
a=$last_worker
start_worker b
b=$last_worker
for _ in $(seq 200); do grep -q "running" "$work/coordinator.log" && break; sleep 0.05; done
sleep 0.5
kill -9 "$b"
wait "$coord"
check "worker killed: the coordinator fails the job" $(($? == 0))
grep -q "lost worker 'b'" "$work/coordinator.log"
check "worker killed: the coordinator names the lost worker" $?
wait "$a"
check "worker killed: the other worker exits with an error" $(($? == 0))
unset SLUICE_FAULT
tail -2 "$work/coordinator.log"

fault_end
