-- Removes a record and its list entries, and subtracts the bytes of the record as stored, only if this call is the one
-- that deleted it. Answers 1 when removed, 0 when it was already gone.
-- KEYS: doc, collection list, tenant list, bytes counter, doc-key prefix. ARGV: id.
-- @include "bytes-of"
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local total = bytesOf(KEYS[4], KEYS[3], KEYS[5])
local ok, doc = pcall(cjson.decode, raw)
local bytes = (ok and type(doc) == 'table' and type(doc.bytes) == 'number') and doc.bytes or 0
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SET', KEYS[4], math.max(0, total - bytes))
return 1
