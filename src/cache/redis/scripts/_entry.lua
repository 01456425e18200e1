-- Shared by every script (prepended when loading). An entry is one hash:
--   value:     v = version, g = generation, d = data
--   list:      v = version (seq of the newest item), g, n = items held, '#<seq>' = item
--   tombstone: v and g only
-- A generation is microseconds from Redis' clock, above the previous one: never repeated for a key,
-- even after its tombstone expired and a new one was made.

local function tombstone(key, present_version, min_version, ttl, present_gen)
  local t = redis.call('TIME')
  local gen = math.max(tonumber(t[1]) * 1000000 + tonumber(t[2]), (tonumber(present_gen) or 0) + 1)
  local version = math.max(tonumber(present_version) or 0, tonumber(min_version))
  redis.call('DEL', key)
  redis.call('HSET', key, 'v', string.format('%.0f', version), 'g', string.format('%.0f', gen))
  redis.call('PEXPIRE', key, ttl)
end

-- A miss on nothing leaves a tombstone and hands out its generation as the lease, so that a fill needs an entry
-- to match: if the tombstone is lost (expiry, eviction, a restart) the fill is refused, never let through.
local function lease_of(key, m, ttl)
  if m[2] then return m[2] end
  tombstone(key, false, 0, ttl, false)
  return redis.call('HGET', key, 'g')
end

-- The fill rule: over a live entry only when newer; over a tombstone only with its lease and not below its
-- version; over nothing never (its tombstone was lost: the reader must miss again).
local function fillable(v, g, live, lease, version)
  if live then return tonumber(v) < tonumber(version) end
  if g then return tonumber(g) == tonumber(lease) and tonumber(v) <= tonumber(version) end
  return false
end
