-- Nexmark q8: monitor new users. People who registered and opened an auction in the same
-- 10-second window: a windowed join of two windowed aggregates on the window and person id.
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
SELECT P.id, P.name, P.starttime
FROM (SELECT person.id AS id, person.name AS name, window_start AS starttime,
             window_end AS endtime
      FROM TUMBLE(nexmark, ts, INTERVAL '10' SECOND) WHERE person IS NOT NULL
      GROUP BY person.id, person.name, window_start, window_end) P
JOIN (SELECT auction.seller AS seller, window_start AS starttime, window_end AS endtime
      FROM TUMBLE(nexmark, ts, INTERVAL '10' SECOND) WHERE auction IS NOT NULL
      GROUP BY auction.seller, window_start, window_end) A
ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime;
