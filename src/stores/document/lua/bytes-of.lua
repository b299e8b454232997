-- Reads the tenant's byte total, building it from the stored records when the counter does not exist yet.
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
