-- Nexmark q0: passthrough of the bids.
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
CREATE TABLE discard WITH (connector = 'blackhole');

INSERT INTO discard
SELECT bid.auction, bid.bidder, bid.price, bid.datetime, bid.extra
FROM nexmark
WHERE bid IS NOT NULL;
