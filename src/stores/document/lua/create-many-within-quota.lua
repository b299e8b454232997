-- Creates many records of one collection at once (a bulk upload), each with its content-hash claim and, when given, its
-- source (small sources wait in Redis: SourceInbox), within quota, in order. A record whose content another live
-- document holds is not created and writes nothing: answered with the holder's record. The first one past a quota
-- stops the rest. Writing the sources here, not before, means a duplicate or a refused record never leaves one behind.
-- Answers one entry per record reached: {'created'} or {'duplicate', holder's record JSON}; then, when a quota stopped
-- it, {'refused', quota, limit, used} for the record that did not fit.
-- KEYS: collection list, tenant list, bytes counter, doc-key prefix, hash-key prefix.
-- ARGV: max documents, max bytes, then per record: id, content hash, record JSON, bytes, source key ('' when its source
-- is stored elsewhere), source.
-- @include "bytes-of"
local maxDocs = tonumber(ARGV[1])
local maxBytes = tonumber(ARGV[2])
local docs = redis.call('ZCARD', KEYS[2])
local total = bytesOf(KEYS[3], KEYS[2], KEYS[4])
local out = {}
for i = 3, #ARGV, 6 do
  local id, hash, json, bytes = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local hashKey = KEYS[5] .. hash
  local holder = redis.call('GET', hashKey)
  local held = holder and redis.call('GET', KEYS[4] .. holder)
  if held then
    out[#out + 1] = { 'duplicate', held }
  else
    if maxDocs > 0 and docs + 1 > maxDocs then
      out[#out + 1] = { 'refused', 'documents', maxDocs, docs }
      break
    end
    if maxBytes > 0 and total + bytes > maxBytes then
      out[#out + 1] = { 'refused', 'bytes', maxBytes, total }
      break
    end
    if ARGV[i + 4] ~= '' then redis.call('SET', ARGV[i + 4], ARGV[i + 5]) end
    redis.call('SET', KEYS[4] .. id, json)
    redis.call('ZADD', KEYS[1], 0, id)
    redis.call('ZADD', KEYS[2], 0, id)
    redis.call('SET', hashKey, id)
    docs = docs + 1
    total = total + bytes
    out[#out + 1] = { 'created' }
  end
end
redis.call('SET', KEYS[3], total)
return out
