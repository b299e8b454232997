-- KEYS: meta, msgs. ARGV: generation, seq, ttl.
-- @include "touch"
if redis.call('HGET', KEYS[1], 'generation') ~= ARGV[1] then return 0 end
local cur = tonumber(redis.call('HGET', KEYS[1], 'recallThrough') or '0')
local last = tonumber(redis.call('HGET', KEYS[1], 'lastSeq') or '0')
local seq = math.min(tonumber(ARGV[2]), last)
if seq <= cur then return 0 end
redis.call('HSET', KEYS[1], 'recallThrough', seq)
touch(KEYS[1], KEYS[2], tonumber(ARGV[3]))
return 1
