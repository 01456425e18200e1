-- After a commit: install the committed value over an older one or over nothing; over a tombstone install
-- nothing (a later commit may have left it) but renew it, voiding the leases of readers in flight.
-- KEYS[1] entry; ARGV: version, data, ttl ms, tombstone ttl ms. Returns 1 when installed.
local m = redis.call('HMGET', KEYS[1], 'v', 'g', 'd')
if m[3] then
  if tonumber(m[1]) >= tonumber(ARGV[1]) then return 0 end
elseif m[2] then
  tombstone(KEYS[1], m[1], 0, ARGV[4], m[2])
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'g', m[2] or '0', 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
