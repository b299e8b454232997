-- KEYS: meta, msgs. ARGV: generation, expected coversThroughSeq, new coversThroughSeq, summary JSON, ttl.
-- @include "touch"
if redis.call('HGET', KEYS[1], 'generation') ~= ARGV[1] then return 0 end
local cur = tonumber(redis.call('HGET', KEYS[1], 'summaryThrough') or '0')
local nextThrough = tonumber(ARGV[3])
local last = tonumber(redis.call('HGET', KEYS[1], 'lastSeq') or '0')
if cur ~= tonumber(ARGV[2]) or nextThrough < cur or nextThrough > last then return 0 end
redis.call('HSET', KEYS[1], 'summary', ARGV[4], 'summaryThrough', nextThrough)
touch(KEYS[1], KEYS[2], tonumber(ARGV[5]))
return 1
