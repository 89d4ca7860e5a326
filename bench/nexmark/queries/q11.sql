-- Nexmark q11: user sessions. Bids per bidder per session (a 10-second gap closes one).
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
SELECT bidder, bid_count, window.start AS starttime, window.end AS endtime
FROM (SELECT SESSION(INTERVAL '10' SECOND) AS window, bid.bidder AS bidder,
             count(*) AS bid_count
      FROM nexmark WHERE bid IS NOT NULL
      GROUP BY 1, 2);
