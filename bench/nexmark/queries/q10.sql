-- Nexmark q10: log to file system. The bids with their day and minute (the reference's
-- partition columns), here into a discarding sink.
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
CREATE TABLE discard WITH (connector = 'blackhole');

INSERT INTO discard
SELECT bid.auction AS auction, bid.bidder AS bidder, bid.price AS price,
       bid.datetime AS datetime, bid.extra AS extra,
       to_char(bid.datetime, 'YYYY-MM-DD') AS dt, to_char(bid.datetime, 'HH24:MI') AS hm
FROM nexmark WHERE bid IS NOT NULL;
