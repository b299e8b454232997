/**
 * The Lua scripts that write document records together with the tenant's usage, so the quotas (TENANT_MAX_DOCUMENTS,
 * TENANT_MAX_BYTES) are checked and counted in the same atomic step as the write they bound: two replicas racing for
 * the last slot cannot both win, and a delete racing a delete subtracts once. Every key is in the tenant's hash tag.
 *
 * The document count is the tenant's list (ZCARD): exact by construction. The byte total is a counter, built the first
 * time a script needs it from the records already stored (a deployment that predates it), then kept by these scripts.
 */

/** Reads the tenant's byte total, building it from the stored records when the counter does not exist yet. */
const BYTES_OF = `
local function bytesOf(bytesKey, listKey, docPrefix)
  local b = redis.call('GET', bytesKey)
  if b then return tonumber(b) end
  local total = 0
  for _, id in ipairs(redis.call('ZRANGE', listKey, 0, -1)) do
    local raw = redis.call('GET', docPrefix .. id)
    if raw then
      local ok, doc = pcall(cjson.decode, raw)
      if ok and type(doc) == 'table' and type(doc.bytes) == 'number' then total = total + doc.bytes end
    end
  end
  redis.call('SET', bytesKey, total)
  return total
end
`;

/**
 * Creates a record within quota. Answers {1} when created, or {0, quota, limit, used} when refused.
 * KEYS: doc, collection list, tenant list, bytes counter, doc-key prefix.
 * ARGV: id, record JSON, bytes, max documents (0: none), max bytes (0: none).
 */
export const CREATE_WITHIN_QUOTA = `${BYTES_OF}
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
`;

/**
 * Compare-and-set of a record that may change its size (a new version): the byte total moves by the difference, and a
 * growth past TENANT_MAX_BYTES is refused. Answers {1} when written, {0} when the record changed since it was read
 * (read again), {-1, 'bytes', limit, used} when over quota.
 * KEYS: doc, bytes counter, tenant list, doc-key prefix. ARGV: value read, new value, byte delta, max bytes (0: none).
 */
export const UPDATE_COUNTED = `${BYTES_OF}
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
`;

/**
 * Removes a record and its list entries, and subtracts the bytes of the record as stored, only if this call is the one
 * that deleted it. Answers 1 when removed, 0 when it was already gone.
 * KEYS: doc, collection list, tenant list, bytes counter, doc-key prefix. ARGV: id.
 */
export const REMOVE_COUNTED = `${BYTES_OF}
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
`;

/**
 * Creates many records of one collection at once (a bulk upload), each with its content-hash claim and, when given, its
 * source (small sources wait in Redis: SourceInbox), within quota, in order. A record whose content another live
 * document holds is not created and writes nothing: answered with the holder's record. The first one past a quota
 * stops the rest. Writing the sources here, not before, means a duplicate or a refused record never leaves one behind.
 * Answers one entry per record reached: {'created'} or {'duplicate', holder's record JSON}; then, when a quota stopped
 * it, {'refused', quota, limit, used} for the record that did not fit.
 * KEYS: collection list, tenant list, bytes counter, doc-key prefix, hash-key prefix.
 * ARGV: max documents, max bytes, then per record: id, content hash, record JSON, bytes, source key ('' when its source
 * is stored elsewhere), source.
 */
export const CREATE_MANY_WITHIN_QUOTA = `${BYTES_OF}
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
`;
