-- Nexmark q2: selection of bids on a few auctions.
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
CREATE TABLE discard WITH (connector = 'blackhole');

INSERT INTO discard
SELECT bid.auction, bid.price
FROM nexmark
WHERE bid IS NOT NULL AND bid.auction % 123 = 0;
