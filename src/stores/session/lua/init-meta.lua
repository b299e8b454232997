-- Shared by create and append. A new meta clears any msgs left behind (meta and msgs expire in the same second, but
-- not necessarily in the same instant): a new generation never shows an earlier one's messages.
-- @include "touch"
local function init_meta(meta, msgs, record, generation, now)
  redis.call('DEL', msgs)
  redis.call('HSET', meta, 'record', record, 'generation', generation, 'updatedAt', now, 'lastSeq', 0,
    'summary', '', 'summaryThrough', 0, 'recallThrough', 0)
end
