-- Nexmark q3: local item suggestion. Who sells in category 10 from OR, ID or CA, and which
-- auctions? An updating join of auctions with their sellers (all rows kept: updating_ttl).
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
-- The result is updating: the blackhole sink takes it when declared with a changelog format.
CREATE TABLE discard WITH (connector = 'blackhole', format = 'debezium_json');

INSERT INTO discard
SELECT P.name, P.city, P.state, A.id
FROM (SELECT auction.id AS id, auction.seller AS seller, auction.category AS category
      FROM nexmark WHERE auction IS NOT NULL) A
JOIN (SELECT person.id AS id, person.name AS name, person.city AS city, person.state AS state
      FROM nexmark WHERE person IS NOT NULL) P
ON A.seller = P.id
WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA');
