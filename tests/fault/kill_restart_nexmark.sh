#!/usr/bin/env bash
# Kill-and-restart tests of the nexmark source (docs/fault-tolerance.md): its position (events
# generated per subtask) is checkpointed, so a pipeline over a finite, paced nexmark stream that
# is killed (kill -9 at random times) and restarted with the same state dir until it finishes
# writes what an uninterrupted run writes: the bids projected to a file (the same lines, each
# once) and the bids per auction per 100 ms window. Restarting at another parallelism is refused.
#
# Usage: kill_restart_nexmark.sh path/to/sluice [seed]
set -u
SLUICE=${1:?usage: kill_restart_nexmark.sh path/to/sluice [seed]}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fault_begin kill_restart_nexmark "${2:-$$}"

# 150000 events at 100000 events/s: a run lasts 1.5 s; event times span 1.5 s too.
source_table="CREATE TABLE nexmark WITH (connector = 'nexmark', events = '150000', event_rate = '100000');
CREATE TABLE out WITH (connector = 'single_file', path = '$work/out.json', format = 'json', type = 'sink');"
cat > "$work/bids.sql" <<SQL
$source_table
INSERT INTO out SELECT bid.auction, bid.bidder, bid.price, row_time() AS t FROM nexmark WHERE bid IS NOT NULL;
SQL
cat > "$work/windows.sql" <<SQL
$source_table
INSERT INTO out SELECT window.start AS w, auction, n
FROM (SELECT TUMBLE(INTERVAL '100 milliseconds') AS window, bid.auction AS auction, count(*) AS n FROM nexmark WHERE bid IS NOT NULL GROUP BY window, auction);
SQL

run() {  # run QUERY PARALLELISM
  exec "$SLUICE" run "$work/$1.sql" --parallelism "$2" --state-dir "$work/state" \
    --checkpoint-interval 100ms 2>>"$work/log.txt"
}

# `count` random kill -9s (0.1 to 0.9 s into a run), then runs to the end at one parallelism.
random_kills() {  # random_kills QUERY COUNT PARALLELISM
  local q=$1 count=$2 p=$3 attempt=0 done_kills=0 rc
  rm -rf "$work/state" "$work/out.json"* "$work/log.txt"
  while true; do
    attempt=$((attempt + 1))
    if [ $done_kills -lt "$count" ]; then
      run "$q" "$p" &
      local pid=$!
      sleep "0.$((RANDOM % 9 + 1))"
      if kill -9 $pid 2>/dev/null; then
        done_kills=$((done_kills + 1))
        kills=$((kills + 1))
      fi
      wait $pid 2>/dev/null
      rc=$?
    else
      { (run "$q" "$p"); } 2>/dev/null
      rc=$?
    fi
    [ $rc -eq 0 ] && break
    if [ $rc -ne 137 ] || [ $attempt -gt $((count + 10)) ]; then
      check "$q: attempt $attempt exited $rc" 1
      tail -5 "$work/log.txt"
      return
    fi
  done
  sort "$work/out.json" | cmp -s - "$work/$q.expected"
  check "$q, parallelism $p ($done_kills kills): output equals the uninterrupted run's" $?
  echo "$q, parallelism $p: $done_kills kills, $attempt runs"
}

for q in bids windows; do
  rm -rf "$work/out.json"*
  "$SLUICE" run "$work/$q.sql" --parallelism 2 2>"$work/log.txt"
  check "$q: uninterrupted run" $?
  sort "$work/out.json" > "$work/$q.expected"
  [ "$(wc -l < "$work/$q.expected")" -gt 1000 ]
  check "$q: uninterrupted output has rows ($(wc -l < "$work/$q.expected"))" $?
  random_kills "$q" 4 2
done
random_kills bids 3 1

# Resuming at another parallelism is refused, with the parallelism to use.
rm -rf "$work/state" "$work/out.json"*
run bids 2 &
pid=$!
sleep 0.5
{
  kill -9 $pid
  wait $pid
} 2>/dev/null
"$SLUICE" run "$work/bids.sql" --parallelism 3 --state-dir "$work/state" 2>"$work/err.txt"
rc=$?
[ $rc -ne 0 ] && grep -q "resuming a nexmark source at another parallelism (3) is not supported yet" \
  "$work/err.txt"
check "resuming at another parallelism is refused (exit $rc: $(head -c 300 "$work/err.txt"))" $?

fault_end
