-- KEYS: meta, msgs. ARGV: record JSON, generation, now, ttl. Answers {1 created | 0 existed, hgetall...}.
-- @include "init-meta"
local created = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  init_meta(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
  touch(KEYS[1], KEYS[2], tonumber(ARGV[4]))
  created = 1
end
local out = redis.call('HGETALL', KEYS[1])
table.insert(out, 1, created)
return out
