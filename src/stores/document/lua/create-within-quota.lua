-- Creates a record within quota. Answers {1} when created, or {0, quota, limit, used} when refused.
-- KEYS: doc, collection list, tenant list, bytes counter, doc-key prefix.
-- ARGV: id, record JSON, bytes, max documents (0: none), max bytes (0: none).
-- @include "bytes-of"
local maxDocs = tonumber(ARGV[4])
local maxBytes = tonumber(ARGV[5])
local bytes = tonumber(ARGV[3])
if maxDocs > 0 then
  local docs = redis.call('ZCARD', KEYS[3])
  if docs + 1 > maxDocs then return { 0, 'documents', maxDocs, docs } end
end
local total = bytesOf(KEYS[4], KEYS[3], KEYS[5])
if maxBytes > 0 and total + bytes > maxBytes then return { 0, 'bytes', maxBytes, total } end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('SET', KEYS[4], total + bytes)
return { 1 }
