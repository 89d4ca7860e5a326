-- Nexmark q9: winning bids. Each auction with its highest bid (the earliest of equal ones)
-- placed between its start and its expiry.
-- An updating result: ROW_NUMBER() over the updating join, top 1 per auction.
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
CREATE TABLE discard WITH (connector = 'blackhole', format = 'debezium_json');

INSERT INTO discard
SELECT id, item_name, description, initial_bid, reserve, datetime, expires, seller, category,
       extra, auction, bidder, price, bid_datetime, bid_extra
FROM (
  SELECT A.*, B.auction, B.bidder, B.price, B.datetime AS bid_datetime, B.extra AS bid_extra,
         ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.datetime ASC) AS rownum
  FROM (SELECT auction.id AS id, auction.item_name AS item_name,
               auction.description AS description, auction.initial_bid AS initial_bid,
               auction.reserve AS reserve, auction.datetime AS datetime,
               auction.expires AS expires, auction.seller AS seller,
               auction.category AS category, auction.extra AS extra
        FROM nexmark WHERE auction IS NOT NULL) A
  JOIN (SELECT bid.auction AS auction, bid.bidder AS bidder, bid.price AS price,
               bid.datetime AS datetime, bid.extra AS extra
        FROM nexmark WHERE bid IS NOT NULL) B
  ON A.id = B.auction AND B.datetime BETWEEN A.datetime AND A.expires
)
WHERE rownum <= 1;
