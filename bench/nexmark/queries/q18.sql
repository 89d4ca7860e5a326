-- Nexmark q18: find last bid. Each bidder's last bid on each auction (deduplication).
-- An updating result: ROW_NUMBER() over the whole stream, top 1 per key (the latest bid).
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
CREATE TABLE discard WITH (connector = 'blackhole', format = 'debezium_json');

INSERT INTO discard
SELECT auction, bidder, price, channel, url, datetime, extra
FROM (SELECT bid.auction AS auction, bid.bidder AS bidder, bid.price AS price,
             bid.channel AS channel, bid.url AS url, bid.datetime AS datetime,
             bid.extra AS extra,
             ROW_NUMBER() OVER (PARTITION BY bid.bidder, bid.auction
                                ORDER BY bid.datetime DESC) AS rank_number
      FROM nexmark WHERE bid IS NOT NULL)
WHERE rank_number <= 1;
