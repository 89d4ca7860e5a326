-- Nexmark q20: expand bids with their auction, for auctions of category 10 (an updating
-- join).
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
-- The result is updating: the blackhole sink takes it when declared with a changelog format.
CREATE TABLE discard WITH (connector = 'blackhole', format = 'debezium_json');

INSERT INTO discard
SELECT B.auction, B.bidder, B.price, B.channel, B.url, B.datetime AS bid_datetime,
       B.extra AS bid_extra, A.item_name, A.description, A.initial_bid, A.reserve,
       A.datetime AS auction_datetime, A.expires, A.seller, A.category,
       A.extra AS auction_extra
FROM (SELECT bid.auction AS auction, bid.bidder AS bidder, bid.price AS price,
             bid.channel AS channel, bid.url AS url, bid.datetime AS datetime,
             bid.extra AS extra
      FROM nexmark WHERE bid IS NOT NULL) B
JOIN (SELECT auction.id AS id, auction.item_name AS item_name,
             auction.description AS description, auction.initial_bid AS initial_bid,
             auction.reserve AS reserve, auction.datetime AS datetime,
             auction.expires AS expires, auction.seller AS seller,
             auction.category AS category, auction.extra AS extra
      FROM nexmark WHERE auction IS NOT NULL) A
ON B.auction = A.id
WHERE A.category = 10;
