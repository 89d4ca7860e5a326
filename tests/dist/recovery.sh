#!/usr/bin/env bash
# Checkpoints of distributed jobs and recovery from a lost worker (docs/distributed.md,
# "Checkpoints and recovery"). One `sluice coordinator --state-dir` and two `sluice worker`
# processes on loopback, sources paced so that a run lasts seconds and takes checkpoints every
# 100 ms; every output is compared with the uninterrupted `sluice run`'s at the same parallelism
# (sorted lines; the final table for changelogs), so a duplicate or a missing row fails:
# 1. an uninterrupted distributed run with checkpoints: several complete, the last one is the
#    end-of-input checkpoint, the output is exact;
# 2. the checkpoint format is the same as `sluice run`'s, both ways: a distributed job stopped
#    with SIGINT (its final stop checkpoint) is finished by `sluice run --state-dir`, and a
#    `sluice run` killed with kill -9 is finished by the coordinator;
# 3. kill -9 of a worker mid-run (the one running the exactly-once file sink, then on an
#    updating join the other one), a replacement worker started: the coordinator restarts the
#    job at a new generation from the latest complete checkpoint and the output is exact; a
#    worker stopped with SIGSTOP is lost after the heartbeat timeout, the same way, and exits
#    with an error when woken;
# 4. with --max-restarts 0 a lost worker fails the job, naming it.
#
# Usage: recovery.sh path/to/sluice [seed]
set -u
SLUICE=${1:?usage: recovery.sh path/to/sluice [seed]}
. "$(dirname "${BASH_SOURCE[0]}")/../fault/lib.sh"
fault_begin dist_recovery "${2:-$$}"
pids=()
fault_on_exit='for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done'

. "$(dirname "${BASH_SOURCE[0]}")/../fault/stateful_queries.sh"
stateful_queries 30000 20000 20000 5
# 300 batches of 100 rows per source, 25 ms apart: about 7 s uninterrupted.
paced='pace_sources:25000'

start_coordinator() {  # start_coordinator ARGS... (its pid in $coord, its port in $port)
  rm -f "$work/port"
  SLUICE_FAULT=$paced "$SLUICE" coordinator --port-file "$work/port" --threads 2 \
    --set batch_size=100 --checkpoint-interval 100ms "$@" 2>"$work/coordinator.log" &
  coord=$!
  pids+=("$coord")
  for _ in $(seq 400); do [ -s "$work/port" ] && break; sleep 0.05; done
  port=$(cat "$work/port" 2>/dev/null)
}
start_worker() {  # start_worker NAME ARGS... (its pid in $last_worker)
  local name=$1
  shift
  SLUICE_FAULT=$paced "$SLUICE" worker --coordinator "127.0.0.1:$port" --name "$name" "$@" \
    2>>"$work/$name.log" &
  last_worker=$!
  pids+=("$last_worker")
}
reference() {  # reference QUERY PARALLELISM
  rm -f "$work/out.json"
  "$SLUICE" run "$work/$1.sql" --parallelism "$2" 2>"$work/run.log"
  check "$1: sluice run -p $2" $?
  canonical "$1" > "$work/$1.expected"
  [ "$(wc -l < "$work/$1.expected")" -gt 50 ]
  check "$1: reference output has rows ($(wc -l < "$work/$1.expected"))" $?
}
fresh() {
  rm -rf "$work/state" "$work/out.json"* "$work"/*.log
}
same_output() {  # same_output QUERY WHAT
  canonical "$1" | cmp -s - "$work/$1.expected"
  check "$2: output equals sluice run's ($(canonical "$1" | wc -l) lines)" $?
}

reference window_aggregate 2
reference updating_join 3

# 1. Uninterrupted, with checkpoints.
fresh
start_coordinator "$work/window_aggregate.sql" -p 2 --workers 2 --state-dir "$work/state"
start_worker a
a=$last_worker
start_worker b
b=$last_worker
wait "$coord"
check "checkpoints: coordinator exit status" $?
wait "$a"
check "checkpoints: worker a exit status" $?
wait "$b"
check "checkpoints: worker b exit status" $?
completed=$(grep -c "checkpoint [0-9]* complete" "$work/coordinator.log")
[ "$completed" -ge 3 ]
check "checkpoints: several completed ($completed)" $?
last=$(ls "$work/state" | sed -n 's/^chk-//p' | sort -n | tail -1)
grep -q "^kind end" "$work/state/chk-$last/_metadata"
check "checkpoints: the last one ($last) is the end-of-input checkpoint" $?
grep -q "^file 3-0.state" "$work/state/chk-$last/_metadata" &&
  grep -q "^file 2-1.state" "$work/state/chk-$last/_metadata"
check "checkpoints: its metadata lists both workers' state files" $?
same_output window_aggregate "checkpoints"

# 2a. A distributed job stopped with SIGINT; `sluice run` resumes its stop checkpoint.
fresh
start_coordinator "$work/window_aggregate.sql" -p 2 --workers 2 --state-dir "$work/state"
start_worker a
a=$last_worker
start_worker b
b=$last_worker
wait_for_line "checkpoint 3 complete" "$work/coordinator.log"
check "stop: checkpoints completed before the stop" $?
kill -INT "$coord"
wait "$coord"
check "stop: the coordinator stops cleanly" $?
wait "$a" "$b"
last=$(ls "$work/state" | sed -n 's/^chk-//p' | sort -n | tail -1)
grep -q "^kind stop" "$work/state/chk-$last/_metadata"
check "stop: the last checkpoint ($last) is a stop checkpoint" $?
SLUICE_FAULT= "$SLUICE" run "$work/window_aggregate.sql" --parallelism 2 \
  --state-dir "$work/state" 2>"$work/run.log"
check "stop: sluice run resumes the distributed job's checkpoint" $?
grep -q "resuming from checkpoint $last" "$work/run.log"
check "stop: sluice run says it resumed from checkpoint $last" $?
same_output window_aggregate "distributed then sluice run"

# 2b. `sluice run` killed with kill -9 after some checkpoints; the coordinator resumes.
fresh
SLUICE_FAULT=$paced "$SLUICE" run "$work/window_aggregate.sql" --parallelism 2 \
  --set batch_size=100 --state-dir "$work/state" --checkpoint-interval 100ms 2>"$work/run.log" &
r=$!
pids+=("$r")
for _ in $(seq 600); do [ "$(ls "$work/state" 2>/dev/null | grep -c chk-)" -ge 2 ] && break; sleep 0.1; done
kill -9 "$r"
wait "$r" 2>/dev/null
start_coordinator "$work/window_aggregate.sql" -p 2 --workers 2 --state-dir "$work/state"
start_worker a
a=$last_worker
start_worker b
b=$last_worker
wait "$coord"
check "sluice run then distributed: coordinator exit status" $?
wait "$a" "$b"
grep -q "resuming from checkpoint" "$work/coordinator.log"
check "sluice run then distributed: the coordinator resumed a checkpoint" $?
same_output window_aggregate "sluice run then distributed"

# 3. kill -9 of a worker, a replacement started: the job restarts from the latest checkpoint.
recover() {  # recover QUERY PARALLELISM SLOTS-OF-A VICTIM
  local q=$1 p=$2 slots=$3 victim=$4
  fresh
  start_coordinator "$work/$q.sql" -p "$p" --workers 2 --state-dir "$work/state" \
    --heartbeat-timeout 20s
  start_worker a --slots "$slots"
  local a=$last_worker
  start_worker b
  local b=$last_worker
  wait_for_line "checkpoint 3 complete" "$work/coordinator.log"
  check "$q, kill $victim: checkpoints completed before the kill" $?
  if [ "$victim" = a ]; then kill -9 "$a"; else kill -9 "$b"; fi
  wait_for_line "restarting" "$work/coordinator.log"
  check "$q, kill $victim: the coordinator restarts the job" $?
  start_worker "$victim" --slots "$([ "$victim" = a ] && echo "$slots" || echo 1)"
  local replacement=$last_worker
  wait "$coord"
  check "$q, kill $victim: coordinator exit status" $?
  if [ "$victim" = a ]; then wait "$b"; else wait "$a"; fi
  check "$q, kill $victim: the surviving worker exits cleanly" $?
  wait "$replacement"
  check "$q, kill $victim: the replacement worker exits cleanly" $?
  grep -q "generation 2: running from checkpoint [0-9]" "$work/coordinator.log"
  check "$q, kill $victim: generation 2 runs from a checkpoint" $?
  same_output "$q" "$q, kill -9 of worker $victim and a replacement"
  grep "restarting\|generation 2: running" "$work/coordinator.log"
}
recover window_aggregate 2 1 a  # worker a runs the sink
recover updating_join 3 2 b

# 3b. A worker that stops answering (SIGSTOP: its connections stay open) is lost after the
# heartbeat timeout; the job restarts with a replacement of another name. Woken up afterwards,
# the stale worker is refused: it was told to leave, and exits with an error.
fresh
start_coordinator "$work/window_aggregate.sql" -p 2 --workers 2 --state-dir "$work/state" \
  --heartbeat-timeout 5s
start_worker a
a=$last_worker
start_worker b
b=$last_worker
wait_for_line "checkpoint 3 complete" "$work/coordinator.log"
kill -STOP "$b"
wait_for_line "restarting" "$work/coordinator.log"
check "SIGSTOP: the coordinator restarts the job" $?
grep -q "lost worker 'b': no heartbeat for 5s" "$work/coordinator.log"
check "SIGSTOP: the cause is the missing heartbeat" $?
start_worker c
c=$last_worker
wait "$coord"
check "SIGSTOP: coordinator exit status" $?
wait "$a"
check "SIGSTOP: worker a exits cleanly" $?
wait "$c"
check "SIGSTOP: the replacement c exits cleanly" $?
same_output window_aggregate "SIGSTOP of worker b and a replacement c"
kill -CONT "$b"
wait "$b"
check "SIGSTOP: the stale worker exits with an error once woken" $(($? == 0))

# 4. No restarts allowed: the job fails naming the lost worker.
fresh
start_coordinator "$work/window_aggregate.sql" -p 2 --workers 2 --state-dir "$work/state" \
  --max-restarts 0
start_worker a
a=$last_worker
start_worker b
b=$last_worker
wait_for_line "checkpoint 1 complete" "$work/coordinator.log"
kill -9 "$b"
wait "$coord"
check "--max-restarts 0: the job fails" $(($? == 0))
grep -q "lost worker 'b'" "$work/coordinator.log"
check "--max-restarts 0: the message names the lost worker" $?
wait "$a"

fault_end
