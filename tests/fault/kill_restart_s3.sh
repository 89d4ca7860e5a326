#!/usr/bin/env bash
# Kill-and-restart tests with checkpoints in S3 (docs/fault-tolerance.md, "Checkpoints in S3"),
# against an s3proxy server that this script starts (scripts/s3proxy-test-server; installed by
# scripts/install-s3proxy) and stops at the end.
#
# A tumbling window aggregate, an updating aggregate (into a Debezium changelog) and an interval
# join run with --state-dir s3://... and a 100ms checkpoint interval. Each is crashed 20 times —
# kill -9 at random moments, and the fault points after_checkpoint, before_metadata and
# sink_commit — and restarted with the same state dir, at parallelism 1 then 2 (keyed state is
# re-sharded on restore), until it finishes. Its output must then equal the uninterrupted run's
# (append-only output: the same lines, sorted; a changelog: the same final table), compared byte
# for byte. Then the S3 server is stopped for a few seconds in the middle of a run: the
# checkpoints of that time fail with a warning, the pipeline keeps running, later checkpoints
# complete, and the output is again exact. Also: a missing bucket and a wrong secret are refused
# at start with a clear message.
#
# Usage: kill_restart_s3.sh path/to/sluice [seed]
set -u
SLUICE=${1:?usage: kill_restart_s3.sh path/to/sluice [seed]}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
server="$root/scripts/s3proxy-test-server"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fault_begin kill_restart_s3 "${2:-$$}"
fault_on_exit='bash "$server" stop "$work/s3"'
start_time=$SECONDS

bucket=sluice-test
if ! bash "$server" start "$work/s3" --bucket $bucket --owner $$ >/dev/null; then
  echo "FAIL: cannot start the S3 test server (run scripts/install-s3proxy)"
  exit 1
fi
endpoint=$(cat "$work/s3/endpoint")
set -a
. "$work/s3/env"  # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION
set +a
# Where the server keeps the objects of a state dir (its filesystem backend: one file each).
objects() { echo "$work/s3/data/$bucket/$1"; }

# The inputs and queries of kill_restart_stateful (40 000 views and buys, a 3-second interval
# join); this test runs window_aggregate, updating_aggregate and interval_join of them.
. "$(dirname "${BASH_SOURCE[0]}")/stateful_queries.sh"
stateful_queries 40000 40000 1000 3

# Each source's chain sleeps 35ms per batch of 200 rows: a run lasts about seven seconds, so
# 20 crashes (0.1 to 0.5 s into a run) land before its end.
SLOW=35000
run() {  # run QUERY PARALLELISM STATE-URL [FAULT]: execs sluice (for `run ... &` and kill)
  SLUICE_FAULT="slow:watermark:$SLOW${4:+,$4}" exec "$SLUICE" run "$work/$1.sql" --parallelism "$2" \
    --set batch_size=200 --state-dir "$3" --checkpoint-interval 100ms 2>>"$work/log.txt"
}

# The highest checkpoint id in a state dir, from the server's files (0 when none).
max_checkpoint() {
  ls "$(objects "$1")" 2>/dev/null | sed -n 's/^chk-//p' | sort -n | tail -1 | grep . || echo 0
}

# 20 crashes, then runs to the end. Every fourth crash is a fault point armed for the first
# checkpoint of that run (new ids continue after the highest in the state dir); should the
# point not be reached in time (sink_commit needs output to commit), a kill -9 stands in.
crashes() {  # crashes QUERY
  local q=$1 prefix="$1-kills" attempt=0 done_kills=0 faults_fired=0 p rc pid fault
  local points=(after_checkpoint before_metadata sink_commit)
  local url="s3://$bucket/$prefix?endpoint=$endpoint&retry_timeout=5s"
  rm -f "$work/out.json"* "$work/log.txt"
  while true; do
    p=$((attempt % 2 + 1))
    attempt=$((attempt + 1))
    if [ $done_kills -lt 20 ]; then
      fault=""
      if [ $((attempt % 4)) -eq 0 ]; then
        fault="${points[$((attempt / 4 % 3))]}:$(($(max_checkpoint "$prefix") + 1))"
      fi
      local fired_before
      fired_before=$(grep -c "fault injected" "$work/log.txt" 2>/dev/null)
      run "$q" "$p" "$url" "$fault" &
      pid=$!
      {  # no "Killed" notices from bash
        if [ -n "$fault" ]; then
          for _ in $(seq 50); do  # up to 2.5 s for the fault point
            kill -0 $pid || break
            sleep 0.05
          done
        else
          sleep "0.$((RANDOM % 5 + 1))"
        fi
        if kill -9 $pid; then
          done_kills=$((done_kills + 1))
        fi
        wait $pid
        rc=$?
      } 2>/dev/null
      if [ -n "$fault" ] &&
        [ "$(grep -c "fault injected" "$work/log.txt")" -gt "${fired_before:-0}" ]; then
        faults_fired=$((faults_fired + 1))
        done_kills=$((done_kills + 1))
      fi
    else
      { (run "$q" "$p" "$url"); } 2>/dev/null
      rc=$?
    fi
    [ $rc -eq 0 ] && break
    if [ $rc -ne 137 ] || [ $attempt -gt 30 ]; then
      check "$q: attempt $attempt exited $rc" 1
      tail -5 "$work/log.txt"
      return
    fi
  done
  kills=$((kills + done_kills))
  [ $done_kills -eq 20 ]
  check "$q: crashed 20 times before the end (got $done_kills)" $?
  [ $faults_fired -ge 2 ]
  check "$q: fault points fired ($faults_fired of 5)" $?
  ! grep -q "warning: checkpoint" "$work/log.txt"
  check "$q: no checkpoint failed" $?
  canonical "$q" | cmp -s - "$work/$q.expected"
  check "$q ($done_kills crashes, $faults_fired at fault points): output equals the uninterrupted run's" $?
  echo "$q: $done_kills crashes ($faults_fired at fault points), $attempt runs, $((SECONDS - start_time)) s so far"
}

for q in window_aggregate updating_aggregate interval_join; do
  rm -f "$work/out.json"*
  "$SLUICE" run "$work/$q.sql" --parallelism 1 2>"$work/log.txt"
  check "$q: uninterrupted run" $?
  canonical "$q" > "$work/$q.expected"
  [ "$(wc -l < "$work/$q.expected")" -gt 50 ]
  check "$q: uninterrupted output has rows ($(wc -l < "$work/$q.expected"))" $?
  crashes "$q"
done

# The S3 server goes away for four seconds in the middle of a run. With a 1 s retry budget the
# checkpoints of that time fail with a warning; the pipeline keeps running and the checkpoints
# after the server's return complete (the last one commits the whole output).
q=window_aggregate
prefix=outage
rm -f "$work/out.json"* "$work/log.txt"
SLOW=50000  # about ten seconds
run $q 1 "s3://$bucket/$prefix?endpoint=$endpoint&retry_timeout=1s" &
pid=$!
sleep 1.5
before=$(max_checkpoint $prefix)
bash "$server" stop "$work/s3"
sleep 4
kill -0 $pid 2>/dev/null
check "outage: the pipeline runs while the server is down" $?
bash "$server" start "$work/s3" --bucket $bucket --owner $$ >/dev/null
check "outage: the server restarts" $?
wait $pid
check "outage: the run finishes (exit 0)" $?
grep -q "warning: checkpoint [0-9]* failed: .*cannot reach $endpoint" "$work/log.txt"
check "outage: the failed checkpoints are warnings naming the endpoint" $?
failed_ids=$(sed -n 's/.*warning: checkpoint \([0-9]*\) failed.*/\1/p' "$work/log.txt" | sort -n)
last_failed=$(echo "$failed_ids" | tail -1)
newest=$(ls "$(objects $prefix)" | sed -n 's/^chk-//p' | sort -n | tail -1)
[ "$before" -gt 0 ] && [ -n "$last_failed" ] && [ "$newest" -gt "${last_failed:-0}" ] &&
  [ -f "$(objects $prefix)/chk-$newest/_metadata" ]
check "outage: checkpoints before ($before), failed ($(echo $failed_ids)) and after ($newest)" $?
canonical $q | cmp -s - "$work/$q.expected"
check "outage: output equals the uninterrupted run's" $?
echo "outage: checkpoints up to $before before, $(echo $failed_ids | wc -w) failed (up to" \
  "${last_failed:-none}), then up to $newest"

# Start-up errors: one clear message, exit 1.
"$SLUICE" run "$work/window_aggregate.sql" --state-dir "s3://no-such-bucket/x?endpoint=$endpoint" \
  2>"$work/err.txt"
[ $? -eq 1 ] && grep -q "bucket 'no-such-bucket' does not exist at $endpoint" "$work/err.txt"
check "a missing bucket is refused at start" $?
AWS_SECRET_ACCESS_KEY=wrong "$SLUICE" run "$work/window_aggregate.sql" \
  --state-dir "s3://$bucket/x?endpoint=$endpoint" 2>"$work/err.txt"
[ $? -eq 1 ] && grep -q "check AWS_SECRET_ACCESS_KEY" "$work/err.txt"
check "a wrong secret is refused at start" $?

fault_end "$((SECONDS - start_time)) s"
