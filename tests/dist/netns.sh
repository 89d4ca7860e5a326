#!/usr/bin/env bash
# A network partition between the coordinator and a worker, in network namespaces
# (docs/distributed.md, "Network partitions"). Each worker runs in a namespace of its own,
# joined to a bridge in the test's namespace by a veth pair, on an address that exists only
# inside its namespace (10.77.N.2, .3, .4); the coordinator listens on the bridge's address
# (10.77.N.1). A windowed aggregate into the exactly-once file sink runs with checkpoints every
# 100 ms; then the link of worker b (it runs sources and aggregates, not the sink) is cut
# (`ip link set down` on its veth's bridge side: packets are dropped, no connection is reset).
# The test asserts:
# - detection: the coordinator loses worker b by its heartbeat timeout and names it;
# - restart: with a replacement worker c (in a third namespace) the job runs again at
#   generation 2 from the latest complete checkpoint;
# - refusal of the stale generation after healing: the link comes back up while generation 2
#   runs, worker b (still at generation 1) is told it was dropped (or finds its data-plane
#   connection reset, whichever comes first) and exits with an error, and
#   neither its heartbeats nor its data reach generation 2;
# - the sink's output equals `sluice run`'s (sorted lines), so nothing is lost or duplicated.
# Namespaces, veth pairs and the bridge carry the script's pid in their names (two runs may
# overlap) and are always removed (trap on EXIT). Not root, or `ip netns` unusable: prints why
# and exits 77, which tests/dist/suite.cmake declares as ctest's skip code.
#
# Usage: netns.sh path/to/sluice [seed]
set -u
SLUICE=${1:?usage: netns.sh path/to/sluice [seed]}
skip() {
  echo "dist_netns: SKIPPED: $*"
  exit 77
}
[ "$(id -u)" = 0 ] || skip "network namespaces need root (running as uid $(id -u))"
command -v ip >/dev/null || skip "the ip command (iproute2) is not installed"

. "$(dirname "${BASH_SOURCE[0]}")/../fault/lib.sh"
fault_begin dist_netns "${2:-$$}"
pids=()
p="sn$$"  # at most 9 characters: interface names stay within 15
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  for w in a b c; do ip netns del "${p}$w" 2>/dev/null; done
  ip link del "${p}br" 2>/dev/null
}
fault_on_exit=cleanup

# A /24 no interface of this machine uses yet: 10.77.N.0, N from the pid.
subnet=""
for i in $(seq 0 255); do
  n=$(((($$ + i) % 256)))
  if ! ip -4 addr show | grep -q "inet 10\.77\.$n\."; then
    subnet="10.77.$n"
    break
  fi
done
[ -n "$subnet" ] || skip "every 10.77.N.0/24 is in use on this machine"
declare -A addr=([a]="$subnet.2" [b]="$subnet.3" [c]="$subnet.4")

if ! ip netns add "${p}a" 2>"$work/ip.err"; then
  skip "ip netns add failed: $(cat "$work/ip.err")"
fi
setup() {
  ip link add "${p}br" type bridge &&
    ip addr add "$subnet.1/24" dev "${p}br" &&
    ip link set "${p}br" up || return 1
  for w in a b c; do
    { [ "$w" = a ] || ip netns add "${p}$w"; } &&
      ip link add "${p}h$w" type veth peer name "${p}w$w" &&
      ip link set "${p}w$w" netns "${p}$w" &&
      ip link set "${p}h$w" master "${p}br" up &&
      ip netns exec "${p}$w" ip addr add "${addr[$w]}/24" dev "${p}w$w" &&
      ip netns exec "${p}$w" ip link set "${p}w$w" up &&
      ip netns exec "${p}$w" ip link set lo up || return 1
  done
}
setup 2>"$work/ip.err" || skip "setting up the namespaces failed: $(cat "$work/ip.err")"
# The worker addresses exist only inside their namespaces; every namespace reaches the bridge.
! ip -4 addr show | grep -q "inet ${addr[a]}/"
check "namespaces: ${addr[a]} does not exist outside worker a's namespace" $?

. "$(dirname "${BASH_SOURCE[0]}")/../fault/stateful_queries.sh"
stateful_queries 30000 20000 20000 5
# 300 batches of 100 rows per source, 40 ms apart: about 12 s uninterrupted.
paced='pace_sources:40000'

now_ms() { date +%s%3N; }

# The reference: `sluice run` at the same parallelism.
"$SLUICE" run "$work/window_aggregate.sql" --parallelism 2 2>"$work/run.log"
check "sluice run -p 2" $?
sort "$work/out.json" > "$work/expected"
[ "$(wc -l < "$work/expected")" -gt 50 ]
check "reference output has rows ($(wc -l < "$work/expected"))" $?
rm -f "$work/out.json"

SLUICE_FAULT=$paced "$SLUICE" coordinator "$work/window_aggregate.sql" -p 2 --workers 2 \
  --listen "$subnet.1:0" --port-file "$work/port" --threads 2 --set batch_size=100 \
  --state-dir "$work/state" --checkpoint-interval 100ms --heartbeat-timeout 3s \
  2>"$work/coordinator.log" &
coord=$!
pids+=("$coord")
for _ in $(seq 400); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port" 2>/dev/null)
[ -n "$port" ]
check "the coordinator listens on $subnet.1" $?
start_worker() {  # start_worker NAME: in its namespace, on its address (its pid in $last_worker)
  SLUICE_FAULT=$paced ip netns exec "${p}$1" "$SLUICE" worker --coordinator "$subnet.1:$port" \
    --name "$1" --data-plane-host "${addr[$1]}" 2>>"$work/$1.log" &
  last_worker=$!
  pids+=("$last_worker")
}
start_worker a
a=$last_worker
start_worker b
b=$last_worker
wait_for_line "checkpoint 3 complete" "$work/coordinator.log"
check "checkpoints completed before the partition" $?
grep -q "generation 1: deploying to 2 workers (a, b)" "$work/coordinator.log"
check "generation 1 runs on workers a and b" $?

# The partition: worker b's link goes down; its connections stay open, nothing arrives.
cut=$(now_ms)
ip link set "${p}hb" down
check "partition: worker b's link is cut" $?
wait_for_line "restarting" "$work/coordinator.log"
check "partition: the coordinator restarts the job" $?
detected=$(now_ms)
grep -q "lost worker 'b': no heartbeat for 3s" "$work/coordinator.log"
check "partition: the coordinator names worker b and the missing heartbeat" $?
start_worker c
c=$last_worker
wait_for_line "generation 2: running from checkpoint [0-9]" "$work/coordinator.log"
check "partition: generation 2 runs from a checkpoint, with the replacement c" $?
running=$(now_ms)
grep -q "generation 2: deploying to 2 workers (a, c)" "$work/coordinator.log"
check "partition: generation 2 is deployed to a and c only" $?

# Healing: b's link comes back while generation 2 runs.
ip link set "${p}hb" up
check "healing: worker b's link is up again" $?
# wait with a deadline: b must leave by itself (the sanitizer build is slow: 60 s)
for _ in $(seq 600); do kill -0 "$b" 2>/dev/null || break; sleep 0.1; done
kill -0 "$b" 2>/dev/null
check "healing: the stale worker b exits by itself" $(($? == 0))
wait "$b"
check "healing: the stale worker b exits with an error" $(($? == 0))
# Whichever reaches it first: the coordinator's stop, the reset or close of its data-plane connection
# to a (a closed it when generation 1 was cancelled), or a refused handshake.
grep -q "dropped from job\|lost the coordinator\|stale generation\|connection to worker 0 .* \(broke\|closed by the receiver\)" \
  "$work/b.log"
check "healing: worker b is told it is out (dropped, reset or refused)" $?
grep -q "generation 2" "$work/b.log"
check "healing: worker b never ran generation 2" $(($? == 0))

wait "$coord"
check "coordinator exit status" $?
wait "$a"
check "worker a exits cleanly" $?
wait "$c"
check "the replacement c exits cleanly" $?
grep -q "generation 3" "$work/coordinator.log"
check "no further restart after healing" $(($? == 0))
sort "$work/out.json" | cmp -s - "$work/expected"
check "output equals sluice run's ($(sort "$work/out.json" | wc -l) lines)" $?

echo "dist_netns: link cut to detection $((detected - cut)) ms (heartbeat timeout 3 s)," \
  "detection to generation 2 running $((running - detected)) ms"
echo "--- coordinator:"
grep "lost\|restarting\|generation" "$work/coordinator.log"
for w in b a c; do
  echo "--- worker $w:"
  tail -4 "$work/$w.log"
done
fault_end
