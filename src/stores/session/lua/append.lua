-- KEYS: meta, msgs. ARGV: now, ttl, expectGeneration ('' for any), record JSON and generation (used when the session
-- is created here), id prefix (a JSON string missing its closing quote), then one JSON object per message.
-- Answers {0} when refused, else {1, firstSeq, hgetall...}.
-- The message JSON gets "seq" and "id" spliced in front of its own fields: no cjson round trip of the content.
-- @include "init-meta"
local meta, msgs = KEYS[1], KEYS[2]
local now, expect = ARGV[1], ARGV[3]
local gen = redis.call('HGET', meta, 'generation')
if not gen then
  if expect ~= '' then return {0} end
  init_meta(meta, msgs, ARGV[4], ARGV[5], now)
elseif expect ~= '' and gen ~= expect then
  return {0}
end
local last = tonumber(redis.call('HGET', meta, 'lastSeq'))
local prefix = ARGV[6]
local n = #ARGV - 6
-- HSET in slices: unpack() of a very large table fails (Lua C stack limit).
local i = 1
while i <= n do
  local args = {}
  local j = i
  while j <= n and j < i + 200 do
    local seq = last + j
    args[#args + 1] = seq
    args[#args + 1] = '{"seq":' .. seq .. ',"id":' .. prefix .. seq .. '",' .. string.sub(ARGV[6 + j], 2)
    j = j + 1
  end
  redis.call('HSET', msgs, unpack(args))
  i = j
end
redis.call('HSET', meta, 'lastSeq', last + n, 'updatedAt', now)
touch(meta, msgs, tonumber(ARGV[2]))
local out = redis.call('HGETALL', meta)
table.insert(out, 1, last + 1)
table.insert(out, 1, 1)
return out
