-- Nexmark q5: hot items. The auctions with the most bids over the last 10 seconds, every
-- 2 seconds: bids per auction over HOP(2 s, 10 s), joined with the maximum of each window.
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
WITH AuctionBids AS (
  SELECT HOP(INTERVAL '2' SECOND, INTERVAL '10' SECOND) AS window, bid.auction AS auction,
         count(*) AS num
  FROM nexmark WHERE bid IS NOT NULL
  GROUP BY 1, 2)
SELECT A.auction, A.num
FROM AuctionBids A
JOIN (SELECT window, max(num) AS maxn FROM AuctionBids GROUP BY window) M
ON A.window = M.window AND A.num >= M.maxn;
