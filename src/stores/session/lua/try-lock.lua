-- KEYS: locks. ARGV: name, token, ttlMs. Taken when the field is absent or its expiry has passed.
-- @include "now-ms"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local sep = string.find(cur, ':', 1, true)
  if sep and tonumber(string.sub(cur, 1, sep - 1)) > now then return 0 end
end
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now + ttl) .. ':' .. ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
