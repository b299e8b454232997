-- Every write refreshes the expiry of meta and msgs together, so an idle session expires as a whole.
local function touch(meta, msgs, ttl)
  if ttl > 0 then
    redis.call('EXPIRE', meta, ttl)
    redis.call('EXPIRE', msgs, ttl)
  end
end
