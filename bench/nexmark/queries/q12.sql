-- Nexmark q12: processing-time windows. Bids per bidder per 10 seconds of processing time.
-- `p_time AS PROCTIME()` makes processing time the table's time attribute, as in Flink: each
-- row is stamped with the wall clock when it is read and the watermark follows the wall clock,
-- so windows close every 10 s of real time. Output depends on the machine's speed, so its row
-- count is not comparable across runs or engines. event_rate paces the source (10 M events at
-- 1 M events/s span 10 s).
CREATE TABLE nexmark (
  person STRUCT<id BIGINT, name TEXT, email_address TEXT, credit_card TEXT, city TEXT,
                state TEXT, datetime TIMESTAMP, extra TEXT>,
  auction STRUCT<id BIGINT, item_name TEXT, description TEXT, initial_bid BIGINT,
                 reserve BIGINT, datetime TIMESTAMP, expires TIMESTAMP, seller BIGINT,
                 category BIGINT, extra TEXT>,
  bid STRUCT<auction BIGINT, bidder BIGINT, price BIGINT, channel TEXT, url TEXT,
             datetime TIMESTAMP, extra TEXT>,
  p_time AS PROCTIME()
) WITH (connector = 'nexmark', event_rate = '1000000', events = '10000000');
CREATE TABLE discard WITH (connector = 'blackhole');

INSERT INTO discard
SELECT bid.bidder AS bidder, count(*) AS bid_count, window_start AS starttime,
       window_end AS endtime
FROM TUMBLE(nexmark, p_time, INTERVAL '10' SECOND)
WHERE bid IS NOT NULL
GROUP BY bid.bidder, window_start, window_end;
