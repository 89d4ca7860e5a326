-- Nexmark q12: processing-time windows. Bids per bidder per 10 seconds of processing time.
-- Sluice has no processing-time attribute (Flink's PROCTIME()); here the event time is a
-- generated column holding the time each batch is generated (now()), with the watermark at
-- that time, which gives windows of processing time. Output depends on the machine's speed,
-- so its row count is not comparable across runs or engines. event_rate paces the source
-- (10 M events at 1 M events/s span 10 s).
CREATE TABLE nexmark (
  person STRUCT<id BIGINT, name TEXT, email_address TEXT, credit_card TEXT, city TEXT,
                state TEXT, datetime TIMESTAMP, extra TEXT>,
  auction STRUCT<id BIGINT, item_name TEXT, description TEXT, initial_bid BIGINT,
                 reserve BIGINT, datetime TIMESTAMP, expires TIMESTAMP, seller BIGINT,
                 category BIGINT, extra TEXT>,
  bid STRUCT<auction BIGINT, bidder BIGINT, price BIGINT, channel TEXT, url TEXT,
             datetime TIMESTAMP, extra TEXT>,
  p_time TIMESTAMP GENERATED ALWAYS AS (now()),
  WATERMARK FOR p_time AS p_time
) WITH (connector = 'nexmark', event_rate = '1000000', events = '10000000');
CREATE TABLE discard WITH (connector = 'blackhole');

INSERT INTO discard
SELECT bidder, bid_count, window.start AS starttime, window.end AS endtime
FROM (SELECT TUMBLE(INTERVAL '10' SECOND) AS window, bid.bidder AS bidder,
             count(*) AS bid_count
      FROM nexmark WHERE bid IS NOT NULL
      GROUP BY 1, 2);
