-- Milliseconds on the Redis server clock: every holder is judged by the same clock. (Scripts replicate their effects,
-- so TIME before a write is allowed.)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
