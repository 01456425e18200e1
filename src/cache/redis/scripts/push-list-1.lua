-- After a commit that added item number `version`: prepend it when the list holds exactly up to version - 1,
-- keeping the newest `max`; otherwise leave a tombstone.
-- KEYS[1] list entry; ARGV: version, item, max, ttl ms, tombstone ttl ms. Returns 1 when prepended.
local m = redis.call('HMGET', KEYS[1], 'v', 'g', 'n')
local v = tonumber(ARGV[1])
if m[3] and tonumber(m[1]) == v - 1 then
  local n = tonumber(m[3]) + 1
  local max = tonumber(ARGV[3])
  redis.call('HSET', KEYS[1], 'v', ARGV[1], '#' .. ARGV[1], ARGV[2])
  if n > max then
    redis.call('HDEL', KEYS[1], '#' .. string.format('%.0f', v - max))
    n = max
  end
  redis.call('HSET', KEYS[1], 'n', n)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return 1
end
tombstone(KEYS[1], m[1], 0, ARGV[5], m[2])
return 0
