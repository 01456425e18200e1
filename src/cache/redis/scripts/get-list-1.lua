-- The newest items of a list. KEYS[1] list entry; ARGV: count, tombstone ttl ms.
-- Returns {1, version, count, items newest first joined by ','} (one reply string: the client parses
-- '[' .. joined .. ']' at once), or {0, lease} on a miss.
local m = redis.call('HMGET', KEYS[1], 'v', 'g', 'n')
if not m[3] then return {0, lease_of(KEYS[1], m, ARGV[2])} end
local v = tonumber(m[1])
local take = math.min(tonumber(ARGV[1]), tonumber(m[3]))
if take == 0 then return {1, m[1], 0, ''} end
local fields = {}
for i = 0, take - 1 do fields[i + 1] = '#' .. string.format('%.0f', v - i) end
local items = redis.call('HMGET', KEYS[1], unpack(fields))
for i = 1, take do
  if not items[i] then
    tombstone(KEYS[1], m[1], 0, ARGV[2], m[2])
    return {0, redis.call('HGET', KEYS[1], 'g')}
  end
end
return {1, m[1], take, table.concat(items, ',')}
