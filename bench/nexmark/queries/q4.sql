-- Nexmark q4: average price for a category. The winning bid of each auction (the highest bid
-- between its start and its expiry), averaged per category.
-- Not supported by Sluice yet: the outer GROUP BY aggregates an updating stream (the inner
-- aggregate over the updating join), which the planner rejects.
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
CREATE TABLE discard WITH (connector = 'blackhole', format = 'debezium_json');

INSERT INTO discard
SELECT Q.category, avg(Q.final) AS avg_final
FROM (
  SELECT max(B.price) AS final, A.category
  FROM (SELECT auction.id AS id, auction.category AS category, auction.datetime AS datetime,
               auction.expires AS expires
        FROM nexmark WHERE auction IS NOT NULL) A
  JOIN (SELECT bid.auction AS auction, bid.price AS price, bid.datetime AS datetime
        FROM nexmark WHERE bid IS NOT NULL) B
  ON A.id = B.auction AND B.datetime BETWEEN A.datetime AND A.expires
  GROUP BY A.id, A.category
) Q
GROUP BY Q.category;
