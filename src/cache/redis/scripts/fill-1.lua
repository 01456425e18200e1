-- Read-through fill of a value after a miss.
-- KEYS[1] entry; ARGV: lease, version, data, ttl ms. Returns 1 when installed, 0 when refused.
local m = redis.call('HMGET', KEYS[1], 'v', 'g', 'd')
if not fillable(m[1], m[2], m[3], ARGV[1], ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'g', m[2] or '0', 'd', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
