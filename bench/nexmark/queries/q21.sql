-- Nexmark q21: add channel id: a CASE over the channel name, else the channel_id parameter
-- of the URL (the reference's REGEXP_EXTRACT(url, ..., 2) as regexp_match(...)[2]).
CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '10000000');
CREATE TABLE discard WITH (connector = 'blackhole');

INSERT INTO discard
SELECT bid.auction AS auction, bid.bidder AS bidder, bid.price AS price,
       bid.channel AS channel,
       CASE
         WHEN lower(bid.channel) = 'apple' THEN '0'
         WHEN lower(bid.channel) = 'google' THEN '1'
         WHEN lower(bid.channel) = 'facebook' THEN '2'
         WHEN lower(bid.channel) = 'baidu' THEN '3'
         ELSE (regexp_match(bid.url, '(&|^)channel_id=([^&]*)'))[2]
       END AS channel_id
FROM nexmark
WHERE bid IS NOT NULL
  AND ((regexp_match(bid.url, '(&|^)channel_id=([^&]*)'))[2] IS NOT NULL
       OR lower(bid.channel) IN ('apple', 'google', 'facebook', 'baidu'));
