"""The Lua scripts of the Redis store: reads that span keys run as one script, so a reader never sees
half a merge."""

# An identity and, per member tracklet (in the identity's tracklet_ids order), the requested hash fields.
# ARGV: prefix, global id ('' for none), tracklet id whose current identity wins ('' for none), fields...
# Reply: {} (no such id), {gid} (no such identity yet), or {gid, identity JSON, field values...}.
_BUNDLE_LUA = """
local p = ARGV[1]
local gid = ARGV[2]
if gid ~= '' then gid = redis.call('HGET', p .. ':aliases', gid) or gid end
if ARGV[3] ~= '' then
  local owner = redis.call('HGET', p .. ':tracklet:' .. ARGV[3], 'gid')
  if owner then gid = owner end
end
if gid == '' then return {} end
local identity = redis.call('GET', p .. ':identity:' .. gid)
if not identity then return {gid} end
local out = {gid, identity}
local n = #ARGV - 3
if n > 0 then
  for _, tid in ipairs(cjson.decode(identity)['tracklet_ids']) do
    local values = redis.call('HMGET', p .. ':tracklet:' .. tid, unpack(ARGV, 4))
    for i = 1, n do out[#out + 1] = values[i] end
  end
end
return out
"""

# How many identities of an index zset have first_seen <= max, and the JSON of a page of them.
# ARGV: prefix, index key, max score, offset, count (-1: all). Reply: {total, identity JSON...}.
_LIST_LUA = """
local p = ARGV[1]
local total = redis.call('ZCOUNT', ARGV[2], '-inf', ARGV[3])
local members
if ARGV[5] == '-1' then
  members = redis.call('ZRANGEBYSCORE', ARGV[2], '-inf', ARGV[3])
else
  members = redis.call('ZRANGEBYSCORE', ARGV[2], '-inf', ARGV[3], 'LIMIT', ARGV[4], ARGV[5])
end
local out = {total}
for _, member in ipairs(members) do
  out[#out + 1] = redis.call('GET', p .. ':identity:' .. string.match(member, '^0*(%d+)$'))
end
return out
"""

# Raise the id counter to at least ARGV[1] (an id recorded from elsewhere must never be handed out again).
_BUMP_COUNTER_LUA = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 0
"""
