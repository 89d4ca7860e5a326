#!/usr/bin/env bash
# Recovery time of a distributed job (docs/performance.md, "Distributed: recovery time"): a
# coordinator and two workers on loopback run the paced windowed aggregate of tests/dist
# (checkpoints every 100 ms into a local state dir, so the state download is a local read);
# after checkpoint 3, worker b is killed with kill -9 and a replacement started at once. The
# time measured is from the kill to the coordinator's "generation 2: running from checkpoint"
# line (the log is polled every 10 ms, so numbers are good to about 10 ms), split at the
# "restarting" line (detection: the broken control stream). ROUNDS rounds (default 5); the
# output of every round must equal `sluice run`'s, or the script fails.
# With SIGNAL=STOP the worker is stopped instead (its connections stay open, as behind a
# partition) and the replacement gets another name, so only the heartbeat timeout (the
# coordinator's default, 10 s, unless HEARTBEAT_TIMEOUT is set) detects the loss.
#
# Usage: [SIGNAL=KILL|STOP] [HEARTBEAT_TIMEOUT=10s] bench/dist/recovery_time.sh path/to/sluice [ROUNDS]
set -u
SLUICE=${1:?usage: recovery_time.sh path/to/sluice [rounds]}
ROUNDS=${2:-5}
. "$(dirname "${BASH_SOURCE[0]}")/../../tests/fault/lib.sh"
fault_begin dist_recovery_time "$$"
pids=()
fault_on_exit='for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done'
. "$(dirname "${BASH_SOURCE[0]}")/../../tests/fault/stateful_queries.sh"
stateful_queries 30000 20000 20000 5
paced='pace_sources:25000'
SIGNAL=${SIGNAL:-KILL}
HEARTBEAT_TIMEOUT=${HEARTBEAT_TIMEOUT:-10s}
replacement_name=b
[ "$SIGNAL" = STOP ] && replacement_name=c
now_ms() { date +%s%3N; }
poll() { wait_for_line "$1" "$2" 60 0.01; }  # poll PATTERN FILE: every 10 ms, up to 60 s
"$SLUICE" run "$work/window_aggregate.sql" --parallelism 2 2>"$work/run.log"
sort "$work/out.json" > "$work/expected"
totals=()
for round in $(seq "$ROUNDS"); do
  rm -rf "$work/state" "$work/out.json" "$work"/*.log "$work/port"
  SLUICE_FAULT=$paced "$SLUICE" coordinator "$work/window_aggregate.sql" -p 2 --workers 2 \
    --port-file "$work/port" --threads 2 --set batch_size=100 --state-dir "$work/state" \
    --checkpoint-interval 100ms --heartbeat-timeout "$HEARTBEAT_TIMEOUT" 2>"$work/coordinator.log" &
  coord=$!
  pids+=("$coord")
  for _ in $(seq 400); do [ -s "$work/port" ] && break; sleep 0.05; done
  port=$(cat "$work/port")
  for w in a b; do
    SLUICE_FAULT=$paced "$SLUICE" worker --coordinator "127.0.0.1:$port" --name "$w" \
      2>"$work/$w.log" &
    pids+=($!)
    eval "pid_$w=$!"
  done
  poll "checkpoint 3 complete" "$work/coordinator.log"
  t0=$(now_ms)
  kill -"$SIGNAL" "$pid_b"
  # A worker of another name is refused while the job has its workers: with SIGSTOP the
  # replacement starts once the coordinator restarts.
  [ "$SIGNAL" = STOP ] && poll "restarting" "$work/coordinator.log"
  SLUICE_FAULT=$paced "$SLUICE" worker --coordinator "127.0.0.1:$port" --name "$replacement_name" \
    2>"$work/b2.log" &
  pids+=($!)
  replacement=$!
  poll "restarting" "$work/coordinator.log"
  t1=$(now_ms)
  poll "generation 2: running from checkpoint" "$work/coordinator.log"
  t2=$(now_ms)
  wait "$coord"
  check "round $round: coordinator exit status" $?
  wait "$pid_a" "$replacement"
  if [ "$SIGNAL" = STOP ]; then kill -CONT "$pid_b"; wait "$pid_b" 2>/dev/null; fi
  sort "$work/out.json" | cmp -s - "$work/expected"
  check "round $round: output equals sluice run's" $?
  state=$(du -sk "$work/state/$(ls "$work/state" | grep chk- | sort -t- -k2 -n | tail -1)" | cut -f1)
  echo "round $round: SIG$SIGNAL to restart $((t1 - t0)) ms, to running again $((t2 - t0)) ms" \
    "(last checkpoint ${state} KiB)"
  totals+=($((t2 - t0)))
done
sorted=$(printf '%s\n' "${totals[@]}" | sort -n)
echo "SIG$SIGNAL to running again over $ROUNDS rounds: min $(echo "$sorted" | head -1) ms," \
  "median $(echo "$sorted" | sed -n "$(((ROUNDS + 1) / 2))p") ms, max $(echo "$sorted" | tail -1) ms"
fault_end
