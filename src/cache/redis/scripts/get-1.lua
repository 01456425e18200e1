-- A value, or a miss with the lease a fill needs. KEYS[1] entry; ARGV: tombstone ttl ms.
-- Returns {1, data} or {0, lease}.
local m = redis.call('HMGET', KEYS[1], 'd', 'g')
if m[1] then return {1, m[1]} end
return {0, lease_of(KEYS[1], {false, m[2]}, ARGV[1])}
