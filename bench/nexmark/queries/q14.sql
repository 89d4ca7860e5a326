-- Nexmark q14: calculation. Prices converted and filtered, the time of day as text, and
-- the reference's count_char UDF (occurrences of 'c' in extra) as an expression.
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
CREATE TABLE discard WITH (connector = 'blackhole');

INSERT INTO discard
SELECT bid.auction AS auction, bid.bidder AS bidder, 0.908 * bid.price AS price,
       CASE
         WHEN EXTRACT(HOUR FROM bid.datetime) >= 8 AND EXTRACT(HOUR FROM bid.datetime) <= 18
           THEN 'dayTime'
         WHEN EXTRACT(HOUR FROM bid.datetime) <= 6 OR EXTRACT(HOUR FROM bid.datetime) >= 20
           THEN 'nightTime'
         ELSE 'otherTime'
       END AS bid_time_type,
       bid.datetime AS datetime, bid.extra AS extra,
       CHAR_LENGTH(bid.extra) - CHAR_LENGTH(REPLACE(bid.extra, 'c', '')) AS c_counts
FROM nexmark
WHERE bid IS NOT NULL AND 0.908 * bid.price > 1000000 AND 0.908 * bid.price < 50000000;
