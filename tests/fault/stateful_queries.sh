# Inputs and queries of the stateful tests, shared by tests/fault/kill_restart_stateful.sh and
# tests/dist/e2e.sh (sourced after lib.sh's fault_begin, which sets $work).
#
# stateful_queries VIEWS BUYS ORDERS WITHIN: writes $work/{views,buys,orders,customers}.json
# (VIEWS page views and BUYS purchases of 53 users with event times, ORDERS orders of 401
# customers, 600 customer rows) and one $work/QUERY.sql per query: window_aggregate,
# session_aggregate, hop_aggregate, window_join, top_n, interval_join (a buy within WITHIN
# seconds after a view), and into Debezium changelogs updating_aggregate, updating_chain,
# updating_join and updating_many_keys.
stateful_queries() {
python3 - "$work" "$1" "$2" "$3" <<'PY'
import json, sys, datetime
d = sys.argv[1]
views, buys, orders = (int(a) for a in sys.argv[2:5])
t0 = datetime.datetime(2023, 1, 1)
def ts(i):
    return (t0 + datetime.timedelta(seconds=i)).isoformat()
with open(d + "/views.json", "w") as f:
    for i in range(views):
        f.write(json.dumps({"ts": ts(i // 2), "uid": "u%d" % ((i * 7) % 53), "page": "p%d" % ((i * 13) % 31)}) + "\n")
with open(d + "/buys.json", "w") as f:
    for i in range(buys):
        f.write(json.dumps({"ts": ts((i * 2) // 3), "uid": "u%d" % ((i * 11) % 53), "amount": (i * 37) % 100}) + "\n")
with open(d + "/orders.json", "w") as f:
    for i in range(orders):
        f.write(json.dumps({"id": i, "cust": "c%d" % ((i * 17) % 401)}) + "\n")
with open(d + "/customers.json", "w") as f:
    for i in range(600):
        f.write(json.dumps({"name": "c%d" % ((i * 3) % 450), "city": "city%d" % i}) + "\n")
PY

tables() {
  cat <<SQL
CREATE TABLE views (ts TIMESTAMP, uid TEXT, page TEXT, WATERMARK FOR ts AS ts - INTERVAL '1 second') WITH (
  connector = 'single_file', path = '$work/views.json', format = 'json', type = 'source');
CREATE TABLE buys (ts TIMESTAMP, uid TEXT, amount INT, WATERMARK FOR ts AS ts - INTERVAL '1 second') WITH (
  connector = 'single_file', path = '$work/buys.json', format = 'json', type = 'source');
CREATE TABLE orders (id BIGINT, cust TEXT) WITH (
  connector = 'single_file', path = '$work/orders.json', format = 'json', type = 'source');
CREATE TABLE customers (name TEXT, city TEXT) WITH (
  connector = 'single_file', path = '$work/customers.json', format = 'json', type = 'source');
CREATE TABLE out WITH (connector = 'single_file', path = '$work/out.json', format = '$1', type = 'sink');
SQL
}

{
  tables json
  cat <<'SQL'
INSERT INTO out SELECT window.start AS minute, uid, n, first_page, last FROM (
  SELECT TUMBLE(INTERVAL '1 minute') AS window, uid, count(*) AS n, min(page) AS first_page,
         max(ts) AS last
  FROM views GROUP BY 1, 2);
SQL
} > "$work/window_aggregate.sql"
{
  tables json
  cat <<'SQL'
INSERT INTO out SELECT window.start AS s, window.end AS e, uid, n, total FROM (
  SELECT SESSION(INTERVAL '45 seconds') AS window, uid, count(*) AS n, sum(amount) AS total
  FROM buys WHERE amount < 50 GROUP BY window, uid);
SQL
} > "$work/session_aggregate.sql"
{
  tables json
  cat <<'SQL'
INSERT INTO out SELECT window.start AS s, uid, n, total, top FROM (
  SELECT HOP(INTERVAL '20 seconds', INTERVAL '1 minute') AS window, uid, count(*) AS n,
         sum(amount) AS total, max(amount) AS top
  FROM buys GROUP BY 1, 2);
SQL
} > "$work/hop_aggregate.sql"
{
  tables json
  cat <<'SQL'
INSERT INTO out SELECT v.window.start AS minute, v.uid, v.n AS views, b.spent
FROM (SELECT TUMBLE(INTERVAL '1 minute') AS window, uid, count(*) AS n FROM views GROUP BY 1, 2) v
FULL OUTER JOIN (SELECT TUMBLE(INTERVAL '1 minute') AS window, uid, sum(amount) AS spent FROM buys GROUP BY 1, 2) b
ON v.window = b.window AND v.uid = b.uid;
SQL
} > "$work/window_join.sql"
{
  tables json
  cat <<'SQL'
INSERT INTO out SELECT uid, page, ts, rn FROM (
  SELECT uid, page, ts, ROW_NUMBER() OVER (PARTITION BY window_start, uid ORDER BY page DESC, ts) AS rn
  FROM TUMBLE(views, ts, INTERVAL '1 minute')
) WHERE rn <= 2;
SQL
} > "$work/top_n.sql"
{
  tables json
  cat <<SQL
INSERT INTO out SELECT v.uid, v.ts AS view_ts, b.ts AS buy_ts, b.amount
FROM views v JOIN buys b ON v.uid = b.uid AND b.ts BETWEEN v.ts AND v.ts + INTERVAL '$4 seconds';
SQL
} > "$work/interval_join.sql"
{
  tables debezium_json
  echo "INSERT INTO out SELECT uid, count(*) AS n, sum(amount) AS total, max(amount) AS top, avg(amount) AS mean FROM buys GROUP BY uid;"
} > "$work/updating_aggregate.sql"
{
  tables debezium_json
  echo "INSERT INTO out SELECT city, count(*) AS n, max(id) AS top, min(id) AS bottom FROM (SELECT o.id, c.city FROM orders o LEFT JOIN customers c ON o.cust = c.name) GROUP BY city;"
} > "$work/updating_chain.sql"
{
  tables debezium_json
  echo "INSERT INTO out SELECT o.id, c.city FROM orders o LEFT JOIN customers c ON o.cust = c.name;"
} > "$work/updating_join.sql"
# Many keys, few of them changing between two checkpoints: incremental snapshots (deltas over
# the last full one) and their chains are restored, also at another parallelism.
{
  tables debezium_json
  echo "INSERT INTO out SELECT id % 20000 AS k, count(*) AS n, sum(id) AS total, max(cust) AS c FROM orders GROUP BY id % 20000;"
} > "$work/updating_many_keys.sql"
}
