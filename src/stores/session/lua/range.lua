-- KEYS: meta, msgs. ARGV: from, to, max count. Answers {lastSeq, value or nil for each seq from..min(to, lastSeq)}.
local last = tonumber(redis.call('HGET', KEYS[1], 'lastSeq') or '0')
local from = tonumber(ARGV[1])
local to = math.min(tonumber(ARGV[2]), last, from + tonumber(ARGV[3]) - 1)
local out = {last}
if to < from then return out end
local fields = {}
for s = from, to do fields[#fields + 1] = s end
local vals = redis.call('HMGET', KEYS[2], unpack(fields))
for k = 1, #vals do out[#out + 1] = vals[k] end
return out
