-- Read-through fill of a list after a miss. KEYS[1] list entry; ARGV: lease, version, ttl ms, items newest
-- first (item i is number version - i + 1). Returns 1 when installed, 0 when refused.
local m = redis.call('HMGET', KEYS[1], 'v', 'g', 'n')
if not fillable(m[1], m[2], m[3], ARGV[1], ARGV[2]) then return 0 end
local v = tonumber(ARGV[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'g', m[2] or '0', 'n', #ARGV - 3)
for i = 4, #ARGV do redis.call('HSET', KEYS[1], '#' .. string.format('%.0f', v - (i - 4)), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
