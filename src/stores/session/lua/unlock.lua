-- KEYS: locks. ARGV: name, token. Only the holder's token releases (a late job cannot free a successor's lock).
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local sep = string.find(cur, ':', 1, true)
if sep and string.sub(cur, sep + 1) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
