#!/usr/bin/env bash
# Two coordinators of one job compete for its lease in the fixture's PostgreSQL
# (docs/distributed.md, "Leases and fencing"), with checkpoints every 100 ms in a shared state
# dir: the standby waits without listening; the leader commits checkpoints (the table's pointer
# moves under epoch 1); the leader and its workers are stopped (SIGSTOP) past the lease's TTL;
# the standby takes over at epoch 2 (checked in the table) and resumes from the pointer; the old
# leader, woken (SIGCONT), finds its lease taken: its fenced renewal or checkpoint commit updates
# no row and it exits (status 3) with a message naming the new holder, and its workers leave.
# New workers then finish the job under the new leader and the output equals `sluice run`'s
# exactly once; the pointer then moves under epoch 2. The lease URL comes from SLUICE_LEASE_URL,
# as in the Kubernetes manifests.
#
# Usage: failover_test.sh path/to/sluice   (SLUICE_POSTGRES_DIR: the postgres_server fixture)
set -u
SLUICE=${1:?usage: failover_test.sh path/to/sluice}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/tests/fault/lib.sh"
fault_begin dist_lease_failover "$$"
pids=()
stopped=()
fault_on_exit='for p in "${stopped[@]}"; do kill -CONT "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done'

: "${SLUICE_POSTGRES_DIR:?SLUICE_POSTGRES_DIR is not set: run under ctest (fixture postgres_server)}"
export SLUICE_LEASE_URL
SLUICE_LEASE_URL=$(cat "$SLUICE_POSTGRES_DIR/conninfo")
job="failover-$$-$RANDOM"
psql() { "$ROOT/scripts/postgres-test-server" psql "$SLUICE_POSTGRES_DIR" -tA -c "$1"; }
row() { psql "SELECT holder || ' ' || epoch FROM sluice_job_leases WHERE job = '$job'"; }
pointer() { psql "SELECT latest_checkpoint FROM sluice_job_leases WHERE job = '$job'"; }
has_pointer() { [ -n "$(pointer)" ]; }
wait_for() {  # wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}
alive() { kill -0 "$1" 2>/dev/null; }
exited() { ! alive "$1"; }

. "$ROOT/tests/fault/stateful_queries.sh"
stateful_queries 30000 200 20 5
"$SLUICE" run "$work/window_aggregate.sql" --parallelism 2 2>"$work/run.log"
check "sluice run -p 2" $?
canonical window_aggregate > "$work/expected"
rm -f "$work/out.json"

coordinator() {  # coordinator NAME [ENV...]: starts a coordinator holding NAME in the lease
  local name=$1
  shift
  env "$@" "$SLUICE" coordinator "$work/window_aggregate.sql" -p 2 --workers 2 --job "$job" \
    --lease-ttl 2s --lease-holder "$name" --heartbeat-timeout 300s --worker-timeout 120s \
    --set batch_size=100 --state-dir "$work/state" --checkpoint-interval 100ms \
    --port-file "$work/$name.port" 2>"$work/$name.log" &
  pids+=("$!")
  last=$!
}
worker() {  # worker NAME PORT [ENV...]
  local name=$1 port=$2
  shift 2
  env "$@" "$SLUICE" worker --coordinator "127.0.0.1:$port" --name "$name" 2>"$work/$name.log" &
  pids+=("$!")
  last=$!
}

coordinator a
a=$last
wait_for 60 test -s "$work/a.port"
check "a holds the lease and listens" $?
check "the table says a holds epoch 1 ($(row))" $([ "$(row)" = "a 1" ]; echo $?)
coordinator b
b=$last
wait_for 60 grep -q "standby for job '$job': the lease is held by 'a' at epoch 1" "$work/b.log"
check "b stands by, naming the holder" $?
check "the standby does not listen" $([ ! -e "$work/b.port" ]; echo $?)

# a's workers run the job slowly (paced sources: about 7 s) so it is mid-run when paused.
worker a1 "$(cat "$work/a.port")" SLUICE_FAULT=pace_sources:25000
a1=$last
worker a2 "$(cat "$work/a.port")" SLUICE_FAULT=pace_sources:25000
a2=$last
wait_for 60 grep -q "running" "$work/a.log"
check "a's job runs on its two workers" $?
wait_for 60 has_pointer
check "a commits checkpoints under the lease (pointer $(pointer))" $?

# The machine of a pauses: the leader and its workers stop past the lease's TTL.
kill -STOP "$a" "$a1" "$a2"
stopped=("$a" "$a1" "$a2")
paused_at=$(pointer)
wait_for 60 test -s "$work/b.port"
check "b takes over once a's lease ran out" $?
grep -q "coordinator 'b': leader of job '$job' at epoch 2" "$work/b.log"
check "b says it leads at epoch 2" $?
check "the table says b holds epoch 2 ($(row))" $([ "$(row)" = "b 2" ]; echo $?)
grep -q "coordinator 'b': job '$job' resumes from checkpoint $paused_at, the latest committed under the lease" "$work/b.log"
check "b resumes from the pointer a committed last ($paused_at)" $?

# a wakes: fenced, it exits at once with the reason.
kill -CONT "$a"
wait_for 60 exited "$a"
check "the old leader exits once woken" $?
wait "$a"
status=$?
check "its exit status is 3 (deposed), got $status" $([ "$status" = 3 ]; echo $?)
# Whichever comes first when it wakes, its renewal or a checkpoint's commit, is refused.
grep -Eq "coordinator 'a' of job '$job' is deposed: the lease is at epoch 2, held by 'b' \(this coordinator held epoch 1\); (renewing the lease|committing checkpoint [0-9]+) refused, nothing committed" "$work/a.log"
check "its message names the new holder and the epochs" $?
grep -o "is deposed: .*" "$work/a.log" | head -1
check "the table still says b holds epoch 2 ($(row))" $([ "$(row)" = "b 2" ]; echo $?)
check "a's commit did not move the pointer ($(pointer))" $([ "$(pointer)" = "$paused_at" ]; echo $?)
kill -CONT "$a1" "$a2"
stopped=()
wait_for 60 exited "$a1" && wait_for 60 exited "$a2"
check "the old leader's workers leave" $?
wait "$a1"
s1=$?
wait "$a2"
s2=$?
check "they exit with an error ($s1, $s2)" $([ "$s1" != 0 ] && [ "$s2" != 0 ]; echo $?)

# New workers (a StatefulSet restarts them) finish the job under b from the pointer.
worker b1 "$(cat "$work/b.port")"
b1=$last
worker b2 "$(cat "$work/b.port")"
b2=$last
wait_for 120 exited "$b"
check "b's job finishes" $?
wait "$b"
check "b exits 0" $?
wait "$b1"
check "worker b1 exits 0" $?
wait "$b2"
check "worker b2 exits 0" $?
canonical window_aggregate | cmp -s - "$work/expected"
check "the output after the failover equals sluice run's, exactly once ($(wc -l < "$work/expected") lines)" $?
check "b committed its own checkpoints under epoch 2 (pointer $paused_at -> $(pointer))" \
  $([ "$(pointer)" -gt "$paused_at" ]; echo $?)
tail -1 "$work/b.log"

# The fence at a checkpoint's commit: c stops renewing while it runs (a fault point: renewals
# lost), so its lease runs out mid-job and d takes over; c's next checkpoint commit updates no
# row: c exits 3 naming the checkpoint it could not commit, and its workers never commit it.
job="$job-fence"
rm -rf "$work/state" "$work/out.json"
coordinator c SLUICE_FAULT=lease_renewals:0
c=$last
wait_for 60 test -s "$work/c.port"
check "fence: c leads" $?
coordinator d
d=$last
worker c1 "$(cat "$work/c.port")" SLUICE_FAULT=pace_sources:25000
c1=$last
worker c2 "$(cat "$work/c.port")" SLUICE_FAULT=pace_sources:25000
c2=$last
wait_for 60 has_pointer
check "fence: c commits checkpoints while its lease runs" $?
wait_for 60 exited "$c"
check "fence: c stops once d took the lease" $?
wait "$c"
status=$?
check "fence: c's exit status is 3, got $status" $([ "$status" = 3 ]; echo $?)
grep -Eq "coordinator 'c' of job '$job' is deposed: the lease is at epoch 2, held by 'd' \(this coordinator held epoch 1\); committing checkpoint [0-9]+ refused, nothing committed" "$work/c.log"
check "fence: c's checkpoint commit was refused, naming d" $?
grep -o "is deposed: .*" "$work/c.log" | head -1
refused=$(grep -o "committing checkpoint [0-9]*" "$work/c.log" | grep -o "[0-9]*$" | head -1)
check "fence: the pointer is not c's refused checkpoint ($(pointer) < ${refused:-?})" \
  $([ -n "$refused" ] && [ "$(pointer)" -lt "$refused" ]; echo $?)
grep -q "checkpoint $refused complete" "$work/c.log"
check "fence: c never announced checkpoint $refused complete" $(($? == 0))
check "fence: the table says d holds epoch 2 ($(row))" $([ "$(row)" = "d 2" ]; echo $?)
wait_for 60 exited "$c1" && wait_for 60 exited "$c2"
check "fence: c's workers leave" $?
worker d1 "$(cat "$work/d.port")"
worker d2 "$(cat "$work/d.port")"
wait_for 120 exited "$d"
wait "$d"
check "fence: d finishes the job" $?
canonical window_aggregate | cmp -s - "$work/expected"
check "fence: the output equals sluice run's, exactly once" $?

fault_end
