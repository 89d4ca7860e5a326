-- Nexmark q19: auction top-10 price. The ten highest bids of each auction.
-- An updating result: ROW_NUMBER() over the whole stream, top 10 per auction.
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
CREATE TABLE discard WITH (connector = 'blackhole', format = 'debezium_json');

INSERT INTO discard
SELECT * FROM (
  SELECT bid.auction AS auction, bid.bidder AS bidder, bid.price AS price,
         bid.channel AS channel, bid.url AS url, bid.datetime AS datetime, bid.extra AS extra,
         ROW_NUMBER() OVER (PARTITION BY bid.auction ORDER BY bid.price DESC) AS rank_number
  FROM nexmark WHERE bid IS NOT NULL)
WHERE rank_number <= 10;
