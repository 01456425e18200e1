-- After a commit: replace the entry (value or list) by a tombstone with a new generation.
-- KEYS[1] entry; ARGV: minimum version (the maximum for a deleted record), tombstone ttl ms. Returns 1.
local m = redis.call('HMGET', KEYS[1], 'v', 'g')
tombstone(KEYS[1], m[1], ARGV[1], ARGV[2], m[2])
return 1
