-- Nexmark q13: bounded side input join. Bids enriched from a bounded side table keyed by
-- auction id mod 10000: a lookup join (FOR SYSTEM_TIME AS OF), whose side table is read whole
-- first and broadcast to every subtask; each bid is emitted once with its match (append-only).
-- The reference reads the side input from a 10 000-line file; here it is an impulse source of
-- 10 000 rows (bounded by message_count), so this file runs alone. To read a file instead:
--   seq 0 9999 | awk '{printf "{\"key\": %d, \"value\": \"%d\"}\n", $1, $1}' > side_input.json
--   CREATE TABLE side_input (key BIGINT, value TEXT) WITH (connector = 'single_file',
--     path = 'side_input.json', format = 'json', type = 'source');
-- and join side_input in place of the view.
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
CREATE TABLE side_counter WITH (connector = 'impulse', event_rate = '1000000000',
                                message_count = '10000');
CREATE VIEW side_input AS SELECT counter AS key, CAST(counter AS TEXT) AS value FROM side_counter;
CREATE TABLE discard WITH (connector = 'blackhole');

INSERT INTO discard
SELECT B.auction, B.bidder, B.price, B.datetime, S.value
FROM (SELECT bid.auction AS auction, bid.bidder AS bidder, bid.price AS price,
             bid.datetime AS datetime
      FROM nexmark WHERE bid IS NOT NULL) B
JOIN side_input FOR SYSTEM_TIME AS OF B.datetime AS S
ON B.auction % 10000 = S.key;
