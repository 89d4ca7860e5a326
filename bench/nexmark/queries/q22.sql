-- Nexmark q22: URL directories: the first three path segments of the bid's URL (the
-- reference's SPLIT_INDEX(url, '/', 3..5), 0-based, as split_part(url, '/', 4..6)).
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
CREATE TABLE discard WITH (connector = 'blackhole');

INSERT INTO discard
SELECT bid.auction AS auction, bid.bidder AS bidder, bid.price AS price,
       bid.channel AS channel, split_part(bid.url, '/', 4) AS dir1,
       split_part(bid.url, '/', 5) AS dir2, split_part(bid.url, '/', 6) AS dir3
FROM nexmark WHERE bid IS NOT NULL;
