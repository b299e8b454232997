/**
 * The session store's Lua scripts (SessionStore): every multi-key change of a session is one script, so it is atomic,
 * and every key a script touches shares the session's hash tag.
 */

// Every write refreshes the expiry of meta and msgs together, so an idle session expires as a whole.
const TOUCH = `
local function touch(meta, msgs, ttl)
  if ttl > 0 then
    redis.call('EXPIRE', meta, ttl)
    redis.call('EXPIRE', msgs, ttl)
  end
end
`;

// Shared by CREATE and APPEND. A new meta clears any msgs left behind (meta and msgs expire in the same second, but
// not necessarily in the same instant): a new generation never shows an earlier one's messages.
const INIT_META = `${TOUCH}
local function init_meta(meta, msgs, record, generation, now)
  redis.call('DEL', msgs)
  redis.call('HSET', meta, 'record', record, 'generation', generation, 'updatedAt', now, 'lastSeq', 0,
    'summary', '', 'summaryThrough', 0, 'recallThrough', 0)
end
`;

// KEYS: meta, msgs. ARGV: record JSON, generation, now, ttl. Answers {1 created | 0 existed, hgetall...}.
export const CREATE = `${INIT_META}
local created = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  init_meta(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
  touch(KEYS[1], KEYS[2], tonumber(ARGV[4]))
  created = 1
end
local out = redis.call('HGETALL', KEYS[1])
table.insert(out, 1, created)
return out
`;

// KEYS: meta, msgs. ARGV: now, ttl, expectGeneration ('' for any), record JSON and generation (used when the session
// is created here), id prefix (a JSON string missing its closing quote), then one JSON object per message.
// Answers {0} when refused, else {1, firstSeq, hgetall...}.
// The message JSON gets "seq" and "id" spliced in front of its own fields: no cjson round trip of the content.
export const APPEND = `${INIT_META}
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
`;

// KEYS: meta, msgs. ARGV: from, to, max count. Answers {lastSeq, value or nil for each seq from..min(to, lastSeq)}.
export const RANGE = `
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
`;

// KEYS: meta, msgs. ARGV: generation, expected coversThroughSeq, new coversThroughSeq, summary JSON, ttl.
export const SET_SUMMARY = `${TOUCH}
if redis.call('HGET', KEYS[1], 'generation') ~= ARGV[1] then return 0 end
local cur = tonumber(redis.call('HGET', KEYS[1], 'summaryThrough') or '0')
local nextThrough = tonumber(ARGV[3])
local last = tonumber(redis.call('HGET', KEYS[1], 'lastSeq') or '0')
if cur ~= tonumber(ARGV[2]) or nextThrough < cur or nextThrough > last then return 0 end
redis.call('HSET', KEYS[1], 'summary', ARGV[4], 'summaryThrough', nextThrough)
touch(KEYS[1], KEYS[2], tonumber(ARGV[5]))
return 1
`;

// KEYS: meta, msgs. ARGV: generation, seq, ttl.
export const MARK_RECALL = `${TOUCH}
if redis.call('HGET', KEYS[1], 'generation') ~= ARGV[1] then return 0 end
local cur = tonumber(redis.call('HGET', KEYS[1], 'recallThrough') or '0')
local last = tonumber(redis.call('HGET', KEYS[1], 'lastSeq') or '0')
local seq = math.min(tonumber(ARGV[2]), last)
if seq <= cur then return 0 end
redis.call('HSET', KEYS[1], 'recallThrough', seq)
touch(KEYS[1], KEYS[2], tonumber(ARGV[3]))
return 1
`;

// KEYS: meta, msgs, locks. Answers the meta's hgetall (empty when there was none).
export const DELETE = `
local out = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return out
`;

// Milliseconds on the Redis server clock: every holder is judged by the same clock. (Scripts replicate their effects,
// so TIME before a write is allowed.)
const NOW_MS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// KEYS: locks. ARGV: name, token, ttlMs. Taken when the field is absent or its expiry has passed.
export const TRY_LOCK = `${NOW_MS}
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local sep = string.find(cur, ':', 1, true)
  if sep and tonumber(string.sub(cur, 1, sep - 1)) > now then return 0 end
end
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now + ttl) .. ':' .. ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`;

// KEYS: locks. ARGV: name, token. Only the holder's token releases (a late job cannot free a successor's lock).
export const UNLOCK = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local sep = string.find(cur, ':', 1, true)
if sep and string.sub(cur, sep + 1) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
`;
