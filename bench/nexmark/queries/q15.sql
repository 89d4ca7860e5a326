-- Nexmark q15: bidding statistics per day: bids, bidders and auctions in three price
-- ranges (an updating aggregate; distinct counts with FILTER).
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
-- The result is updating: the blackhole sink takes it when declared with a changelog format.
CREATE TABLE discard WITH (connector = 'blackhole', format = 'debezium_json');

INSERT INTO discard
SELECT to_char(bid.datetime, 'YYYY-MM-DD') AS day,
  count(*) AS total_bids,
  count(*) FILTER (WHERE bid.price < 10000) AS rank1_bids,
  count(*) FILTER (WHERE bid.price >= 10000 AND bid.price < 1000000) AS rank2_bids,
  count(*) FILTER (WHERE bid.price >= 1000000) AS rank3_bids,
  count(DISTINCT bid.bidder) AS total_bidders,
  count(DISTINCT bid.bidder) FILTER (WHERE bid.price < 10000) AS rank1_bidders,
  count(DISTINCT bid.bidder) FILTER (WHERE bid.price >= 10000 AND bid.price < 1000000)
    AS rank2_bidders,
  count(DISTINCT bid.bidder) FILTER (WHERE bid.price >= 1000000) AS rank3_bidders,
  count(DISTINCT bid.auction) AS total_auctions,
  count(DISTINCT bid.auction) FILTER (WHERE bid.price < 10000) AS rank1_auctions,
  count(DISTINCT bid.auction) FILTER (WHERE bid.price >= 10000 AND bid.price < 1000000)
    AS rank2_auctions,
  count(DISTINCT bid.auction) FILTER (WHERE bid.price >= 1000000) AS rank3_auctions
FROM nexmark WHERE bid IS NOT NULL
GROUP BY to_char(bid.datetime, 'YYYY-MM-DD');
