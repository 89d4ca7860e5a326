#!/usr/bin/env bash
# Nexmark q5 (hot items: a HOP window count per auction joined with each window's maximum, two
# keyed shuffles) on one coordinator and two `sluice worker` processes with one slot and one
# executor thread each, against `sluice run` at parallelism 2 with two threads, on the same
# machine (docs/performance.md, "Distributed: Nexmark q5 on two workers").
# The source is the built-in nexmark generator (bench/nexmark/queries/q5.sql with `events` set),
# so the workers read no file; the sink discards (blackhole).
#
# Usage: bench/dist/q5.sh path/to/sluice [events] [runs]
# Prints, per run and mode: wall seconds, CPU seconds (user + system, every process of the
# mode, and for the distributed mode each process's), events/s and events/s per core, and the
# rows the sink received (equal in both modes). The distributed wall time includes the workers'
# start, registration and deployment (tens of milliseconds).
set -u
SLUICE=${1:?usage: q5.sh path/to/sluice [events] [runs]}
EVENTS=${2:-2000000}
RUNS=${3:-3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
sed "s/events = '[0-9]*'/events = '$EVENTS'/" "$here/../nexmark/queries/q5.sql" > "$work/q5.sql"

cpu() {  # cpu TIME-FILE: user + system seconds that GNU time wrote ("%U %S")
  awk '{ print $1 + $2 }' "$1"
}
report() {  # report MODE WALL CPU ROWS
  awk -v m="$1" -v w="$2" -v c="$3" -v r="$4" -v n="$EVENTS" 'BEGIN {
    printf "%-12s wall %6.2f s  cpu %6.2f s  %9.0f ev/s  %9.0f ev/s per core  rows %s\n",
           m, w, c, n / w, n / c, r }'
}

for run in $(seq "$RUNS"); do
  start=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$work/run.time" "$SLUICE" run "$work/q5.sql" -p 2 \
    2>"$work/run.log"
  end=$(date +%s.%N)
  rows=$(sed -n 's/.*finished: \([0-9]*\) rows written.*/\1/p' "$work/run.log" | tail -1)
  report "sluice run" "$(echo "$end - $start" | bc)" "$(cpu "$work/run.time")" "$rows"

  rm -f "$work/port"
  start=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$work/coord.time" "$SLUICE" coordinator "$work/q5.sql" -p 2 \
    --workers 2 --threads 1 --port-file "$work/port" 2>"$work/coord.log" &
  coord=$!
  pids+=("$coord")
  for _ in $(seq 400); do [ -s "$work/port" ] && break; sleep 0.01; done
  port=$(cat "$work/port")
  for w in a b; do
    /usr/bin/time -f "%U %S" -o "$work/$w.time" "$SLUICE" worker \
      --coordinator "127.0.0.1:$port" --name "$w" 2>"$work/$w.log" &
    pids+=("$!")
  done
  wait
  end=$(date +%s.%N)
  total=$(echo "$(cpu "$work/coord.time") + $(cpu "$work/a.time") + $(cpu "$work/b.time")" | bc)
  rows=$(sed -n 's/.*finished on 2 workers: \([0-9]*\) rows written.*/\1/p' "$work/coord.log")
  report "2 workers" "$(echo "$end - $start" | bc)" "$total" "$rows"
  echo "             cpu of the coordinator $(cpu "$work/coord.time") s, worker a $(cpu "$work/a.time") s, worker b $(cpu "$work/b.time") s"
done
