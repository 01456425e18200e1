-- A repair mark: KEYS[1] the fleet's sorted set of repairing instances, scored by expiry on this node's clock.
-- ARGV: holder, ms (0 = only ask). Prunes lapsed marks, renews the holder's unless asking, keeps the key alive
-- until the last mark lapses. Returns how many marks are live.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if tonumber(ARGV[2]) > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[1], last[2])
end
return redis.call('ZCARD', KEYS[1])
