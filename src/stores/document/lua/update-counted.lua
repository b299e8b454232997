-- Compare-and-set of a record that may change its size (a new version): the byte total moves by the difference, and a
-- growth past TENANT_MAX_BYTES is refused. Answers {1} when written, {0} when the record changed since it was read
-- (read again), {-1, 'bytes', limit, used} when over quota.
-- KEYS: doc, bytes counter, tenant list, doc-key prefix. ARGV: value read, new value, byte delta, max bytes (0: none).
-- @include "bytes-of"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return { 0 } end
local delta = tonumber(ARGV[3])
if delta ~= 0 then
  local total = bytesOf(KEYS[2], KEYS[3], KEYS[4])
  local maxBytes = tonumber(ARGV[4])
  if delta > 0 and maxBytes > 0 and total + delta > maxBytes then return { -1, 'bytes', maxBytes, total } end
  redis.call('SET', KEYS[2], math.max(0, total + delta))
end
redis.call('SET', KEYS[1], ARGV[2])
return { 1 }
