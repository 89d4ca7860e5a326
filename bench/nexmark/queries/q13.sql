-- Nexmark q13: bounded side input join. Bids enriched from a bounded side table keyed by
-- auction id mod 10000.
-- Sluice has no lookup/temporal join (FOR SYSTEM_TIME AS OF is a syntax error), so this is an
-- updating (regular) join with the side table, which is read in full and kept; each bid matches
-- one side row, as in the reference. The side input (the reference reads a 10 000-line file) is
-- an impulse source of 10 000 rows, so the file needs nothing beside it.
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
CREATE TABLE side_input WITH (connector = 'impulse', event_rate = '1000000000',
                              message_count = '10000');
CREATE TABLE discard WITH (connector = 'blackhole', format = 'debezium_json');

INSERT INTO discard
SELECT B.auction, B.bidder, B.price, B.datetime, S.value
FROM (SELECT bid.auction AS auction, bid.bidder AS bidder, bid.price AS price,
             bid.datetime AS datetime
      FROM nexmark WHERE bid IS NOT NULL) B
JOIN (SELECT counter AS key, CAST(counter AS TEXT) AS value FROM side_input) S
ON B.auction % 10000 = S.key;
