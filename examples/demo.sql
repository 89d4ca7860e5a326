-- The `make run` demo: a generator of 5 rows a second, filtered and projected, to the terminal.
CREATE TABLE ticks WITH (
  connector = 'impulse',
  event_rate = '5'
);

SELECT
  counter,
  counter % 3 AS bucket,
  CASE WHEN counter % 2 = 0 THEN 'even' ELSE 'odd' END AS parity,
  upper('tick-' || counter) AS label,
  date_trunc('second', timestamp) AS second
FROM ticks
WHERE counter % 5 <> 4;
