-- Nexmark q7: highest bid. The bids with the highest price of each 10-second window: the
-- window's bids joined with the window's maximum (a windowed join).
-- ts: the event's datetime (person, auction or bid), its event time; the watermark trails it
-- by 4 seconds, as in the reference's DDL.
CREATE TABLE nexmark (
  person STRUCT<id BIGINT, name TEXT, email_address TEXT, credit_card TEXT, city TEXT,
                state TEXT, datetime TIMESTAMP, extra TEXT>,
  auction STRUCT<id BIGINT, item_name TEXT, description TEXT, initial_bid BIGINT,
                 reserve BIGINT, datetime TIMESTAMP, expires TIMESTAMP, seller BIGINT,
                 category BIGINT, extra TEXT>,
  bid STRUCT<auction BIGINT, bidder BIGINT, price BIGINT, channel TEXT, url TEXT,
             datetime TIMESTAMP, extra TEXT>,
  ts TIMESTAMP GENERATED ALWAYS AS (coalesce(person.datetime, auction.datetime, bid.datetime)),
  WATERMARK FOR ts AS ts - INTERVAL '4 seconds'
) WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
CREATE TABLE discard WITH (connector = 'blackhole');

INSERT INTO discard
SELECT B.bid.auction AS auction, B.bid.bidder AS bidder, B.bid.price AS price,
       B.bid.datetime AS datetime, B.bid.extra AS extra
FROM TUMBLE(nexmark, ts, INTERVAL '10' SECOND) B
JOIN (SELECT max(bid.price) AS maxprice, window_start, window_end
      FROM TUMBLE(nexmark, ts, INTERVAL '10' SECOND) WHERE bid IS NOT NULL
      GROUP BY window_start, window_end) B1
ON B.window_start = B1.window_start AND B.window_end = B1.window_end
   AND B.bid.price = B1.maxprice;
