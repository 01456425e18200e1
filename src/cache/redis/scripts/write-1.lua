-- After a commit: install the committed value over an older one. Over a tombstone or nothing install nothing
-- (a later commit may have left the tombstone, or left one that was lost) but leave a new one, voiding the
-- leases of readers in flight.
-- KEYS[1] entry; ARGV: version, data, ttl ms, tombstone ttl ms. Returns 1 when installed.
local m = redis.call('HMGET', KEYS[1], 'v', 'g', 'd')
if m[3] then
  if tonumber(m[1]) >= tonumber(ARGV[1]) then return 0 end
else
  tombstone(KEYS[1], m[1], 0, ARGV[4], m[2])
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
