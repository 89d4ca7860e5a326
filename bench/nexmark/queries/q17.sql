-- Nexmark q17: auction statistics per day: bids in three price ranges and price
-- min/max/avg/sum per auction (an updating aggregate).
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
-- The result is updating: the blackhole sink takes it when declared with a changelog format.
CREATE TABLE discard WITH (connector = 'blackhole', format = 'debezium_json');

INSERT INTO discard
SELECT bid.auction AS auction, to_char(bid.datetime, 'YYYY-MM-DD') AS day,
  count(*) AS total_bids,
  count(*) FILTER (WHERE bid.price < 10000) AS rank1_bids,
  count(*) FILTER (WHERE bid.price >= 10000 AND bid.price < 1000000) AS rank2_bids,
  count(*) FILTER (WHERE bid.price >= 1000000) AS rank3_bids,
  min(bid.price) AS min_price, max(bid.price) AS max_price, avg(bid.price) AS avg_price,
  sum(bid.price) AS sum_price
FROM nexmark WHERE bid IS NOT NULL
GROUP BY bid.auction, to_char(bid.datetime, 'YYYY-MM-DD');
