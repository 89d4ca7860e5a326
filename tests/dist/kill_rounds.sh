#!/usr/bin/env bash
# Exactly once under repeated worker loss (issue 14; docs/distributed.md, "Checkpoints and
# recovery"): for each pipeline kind (a tumbling-window aggregate, a windowed join, an interval
# join, an updating join into a Debezium changelog), one distributed job with --state-dir and
# 100 ms checkpoints on two workers is hit by KILLS kill -9s of a random worker at random
# moments (0.2-1.0 s after the previous generation started running), each followed by a
# replacement worker of the same name; then it runs to the end. The output must equal `sluice
# run`'s (sorted lines; the final table for the changelog): nothing lost, nothing twice.
# A soak run, not part of `make test`: `make test-dist-soak` (DIST_KILLS, default 20 per kind).
#
# Usage: kill_rounds.sh path/to/sluice [kills] [seed]
set -u
SLUICE=${1:?usage: kill_rounds.sh path/to/sluice [kills] [seed]}
KILLS=${2:-20}
. "$(dirname "${BASH_SOURCE[0]}")/../fault/lib.sh"
fault_begin dist_kill_rounds "${3:-$$}"
pids=()
fault_on_exit='for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done'

. "$(dirname "${BASH_SOURCE[0]}")/../fault/stateful_queries.sh"
stateful_queries 30000 20000 20000 5
paced='pace_sources:40000'  # 400-600 batches of 50 rows per source, 40 ms apart: 16-24 s

start_worker() {  # start_worker NAME SLOTS (pid in worker_pid[NAME])
  SLUICE_FAULT=$paced "$SLUICE" worker --coordinator "127.0.0.1:$port" --name "$1" \
    --slots "$2" 2>>"$work/$1.log" &
  worker_pid[$1]=$!
  pids+=("$!")
}

declare -A worker_pid
for qp in window_aggregate:2 window_join:3 interval_join:2 updating_join:3; do
  q=${qp%:*}
  p=${qp#*:}
  rm -rf "$work/out.json"* "$work/state" "$work"/*.log
  "$SLUICE" run "$work/$q.sql" --parallelism "$p" 2>"$work/run.log"
  check "$q: sluice run -p $p" $?
  canonical "$q" > "$work/$q.expected"

  rm -f "$work/out.json" "$work/port"
  SLUICE_FAULT=$paced "$SLUICE" coordinator "$work/$q.sql" -p "$p" --workers 2 --threads 2 \
    --set batch_size=50 --state-dir "$work/state" --checkpoint-interval 100ms \
    --max-restarts $((KILLS + 5)) --heartbeat-timeout 30s --worker-timeout 60s \
    --port-file "$work/port" 2>"$work/coordinator.log" &
  coord=$!
  pids+=("$coord")
  for _ in $(seq 400); do [ -s "$work/port" ] && break; sleep 0.05; done
  port=$(cat "$work/port")
  start_worker a $((p - 1))
  start_worker b 1
  done_kills=0
  while [ "$done_kills" -lt "$KILLS" ] && kill -0 "$coord" 2>/dev/null; do
    # Wait for the current generation to run, then a random moment into it.
    for _ in $(seq 600); do
      [ "$(grep -c ": running" "$work/coordinator.log")" -gt "$done_kills" ] && break
      sleep 0.1
    done
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.2 + 0.8 * r / 32767 }')"
    victim=$([ $((RANDOM % 2)) -eq 0 ] && echo a || echo b)
    kill -9 "${worker_pid[$victim]}" 2>/dev/null || break
    wait "${worker_pid[$victim]}" 2>/dev/null
    done_kills=$((done_kills + 1))
    kills=$((kills + 1))
    start_worker "$victim" "$([ "$victim" = a ] && echo $((p - 1)) || echo 1)"
  done
  wait "$coord"
  rc=$?
  check "$q: the job finishes after $done_kills kills" $rc
  if [ $rc -ne 0 ]; then
    grep -v "checkpoint [0-9]* complete" "$work/coordinator.log" | tail -15
    tail -n 5 "$work/a.log" "$work/b.log"
  fi
  wait "${worker_pid[a]}" "${worker_pid[b]}" 2>/dev/null
  [ "$done_kills" -ge "$KILLS" ]
  check "$q: $done_kills of $KILLS kills landed before the job ended" $?
  restarts=$(grep -c "restarting" "$work/coordinator.log")
  canonical "$q" | cmp -s - "$work/$q.expected"
  check "$q: output equals sluice run's after $done_kills kills ($restarts restarts)" $?
  echo "$q: $done_kills kills, $restarts restarts, $(grep -c "checkpoint [0-9]* complete" "$work/coordinator.log") checkpoints completed"
done

fault_end
