-- KEYS: meta, msgs, locks. Answers the meta's hgetall (empty when there was none).
local out = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return out
