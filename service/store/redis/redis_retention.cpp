// Retention on Redis (protocol/events/retention.hpp): one bounded script a pass. The keys it
// reads and removes are listed in service/store/redis/redis_scripts.cpp.
#include "service/store/redis/redis_records.hpp"

namespace switchboard {

namespace redis_scripts {

// One retention pass (protocol/events/retention.hpp), bounded: at most `batch` records of each
// kind removed and `batch` entries of each index examined, so no pass holds Redis for long.
// Finished deliveries are found by the time they finished (delivered_at, died_at); an event
// goes with the last of its deliveries when it is past its own cutoff, or later when the scan
// of events in stored order (retain:events) reaches it; calls and messages by their start and
// creation. Records stored before these indexes existed are indexed first, a batch a pass.
// ARGV: P, delivered cutoff ('' keeps), dead cutoff ('' keeps), log cutoff ('' keeps), batch,
//       configured subscribers...
// -> {events, delivered, dead, calls, messages, more (1 | 0)}
const char* const retain = R"lua(
local p, batch = ARGV[1], tonumber(ARGV[5])
local cut = {delivered = tonumber(ARGV[2]), dead = tonumber(ARGV[3]), log = tonumber(ARGV[4])}
local bound = {delivered = '(' .. ARGV[2], dead = '(' .. ARGV[3], log = '(' .. ARGV[4]} -- exclusive, as given
local removed = {events = 0, delivered = 0, dead = 0, calls = 0, messages = 0}
local more = false
local progress = p .. 'retain:indexed'
for i = 6, #ARGV do redis.call('SADD', p .. 'subscribers', ARGV[i]) end
local subs = redis.call('SMEMBERS', p .. 'subscribers')

local function drop_event(seq)
  local k = p .. 'ev:' .. seq
  local e = redis.call('HMGET', k, 'id', 'dk', 'subject')
  if not e[1] then return end
  redis.call('HDEL', p .. 'evid', e[1])
  if e[2] then redis.call('HDEL', p .. 'dedupe', e[2]) end
  if e[3] and e[3] ~= '' then redis.call('LREM', p .. 'subject:' .. e[3], 1, seq) end
  redis.call('DEL', k)
  removed.events = removed.events + 1
end

-- An event's delivery records not yet removed: its count, or for an event stored before the
-- count existed, the records there are.
local function rows_left(seq, left)
  if left then return tonumber(left) end
  local n = 0
  for _, s in ipairs(subs) do n = n + redis.call('EXISTS', p .. 'd:' .. s .. ':' .. seq) end
  return n
end

-- Finished deliveries stored before the time index: indexed by their last attempt.
local function index_finished(s, state, at_key)
  local field = state .. ':' .. s
  local from = redis.call('HGET', progress, field) or '0'
  if from == 'done' then return end
  local seqs = redis.call('ZRANGEBYSCORE', p .. state .. ':' .. s, '(' .. from, '+inf', 'LIMIT', 0, batch)
  for _, seq in ipairs(seqs) do
    local last = redis.call('HGET', p .. 'd:' .. s .. ':' .. seq, 'last')
    if last then redis.call('ZADD', at_key, 'NX', last, seq) end
  end
  if #seqs < batch then
    redis.call('HSET', progress, field, 'done')
  else
    redis.call('HSET', progress, field, seqs[#seqs])
    more = true
  end
end

local function remove_finished(state, at_prefix)
  if not cut[state] then return end
  for _, s in ipairs(subs) do
    local at_key = p .. at_prefix .. s
    index_finished(s, state, at_key)
    if removed[state] >= batch then more = true return end
    local seqs = redis.call('ZRANGEBYSCORE', at_key, '-inf', bound[state], 'LIMIT', 0, batch - removed[state])
    for _, seq in ipairs(seqs) do
      local dk = p .. 'd:' .. s .. ':' .. seq
      if redis.call('HGET', dk, 'state') == state then
        redis.call('DEL', dk)
        redis.call('ZREM', p .. state .. ':' .. s, seq)
        removed[state] = removed[state] + 1
        local ek = p .. 'ev:' .. seq
        local ev = redis.call('HMGET', ek, 'at', 'left')
        if ev[1] then
          local left
          if ev[2] then left = redis.call('HINCRBY', ek, 'left', -1) else left = rows_left(seq, nil) end
          if left <= 0 and cut.delivered and tonumber(ev[1]) < cut.delivered then drop_event(seq) end
        end
      end
      redis.call('ZREM', at_key, seq)
    end
  end
end

remove_finished('delivered', 'delivered_at:')
remove_finished('dead', 'died_at:')

-- Events in stored order, up to the first one still inside its cutoff. One that still has
-- deliveries is passed over: it goes with its last delivery (above).
if cut.delivered then
  local cursor = tonumber(redis.call('GET', p .. 'retain:events') or '0')
  local last = tonumber(redis.call('GET', p .. 'seq') or '0')
  local scanned = 0
  while cursor < last and scanned < batch and removed.events < batch do
    local seq = cursor + 1
    local ev = redis.call('HMGET', p .. 'ev:' .. seq, 'at', 'left')
    if ev[1] and tonumber(ev[1]) >= cut.delivered then break end
    if ev[1] and rows_left(seq, ev[2]) <= 0 then drop_event(seq) end
    cursor = seq
    scanned = scanned + 1
  end
  redis.call('SET', p .. 'retain:events', cursor)
  if scanned >= batch or removed.events >= batch then more = true end
end

if cut.log then
  local sids = redis.call('ZRANGEBYSCORE', p .. 'calls', '-inf', bound.log, 'LIMIT', 0, batch)
  for _, sid in ipairs(sids) do
    local k = p .. 'call:' .. sid
    local c = redis.call('HMGET', k, 'status', 'direction')
    redis.call('ZREM', p .. 'calls', sid)
    redis.call('ZREM', p .. 'calls:s:' .. (c[1] or ''), sid)
    redis.call('ZREM', p .. 'calls:d:' .. (c[2] or ''), sid)
    redis.call('ZREM', p .. 'calls:outbound', sid)
    redis.call('DEL', k, p .. 'subject:' .. sid)
  end
  removed.calls = #sids

  -- Messages stored before their index: found by a key scan, once.
  local scan = redis.call('HGET', progress, 'msgs') or '0'
  if scan ~= 'done' then
    local pattern = string.gsub(p, '[%*%?%[%]\\]', '\\%0') .. 'msg:*'
    local r = redis.call('SCAN', scan, 'MATCH', pattern, 'COUNT', batch)
    for _, k in ipairs(r[2]) do
      local created = redis.call('HGET', k, 'created')
      if created then redis.call('ZADD', p .. 'msgs', 'NX', created, string.sub(k, #p + 5)) end
    end
    redis.call('HSET', progress, 'msgs', r[1] == '0' and 'done' or r[1])
    if r[1] ~= '0' then more = true end
  end
  local mids = redis.call('ZRANGEBYSCORE', p .. 'msgs', '-inf', bound.log, 'LIMIT', 0, batch)
  for _, sid in ipairs(mids) do
    redis.call('DEL', p .. 'msg:' .. sid, p .. 'subject:' .. sid)
    redis.call('ZREM', p .. 'msgs', sid)
  end
  removed.messages = #mids
end

for _, n in pairs(removed) do
  if n >= batch then more = true end
end
return {removed.events, removed.delivered, removed.dead, removed.calls, removed.messages, more and 1 or 0}
)lua";

} // namespace redis_scripts

using namespace redis_detail;

void redis_store::backup(std::string, callback<std::int64_t> done)
{
    done(boost::system::result<std::int64_t>(boost::system::in_place_error, make_error_code(error::not_configured)));
}

void redis_store::retain(retention::cutoffs cut, std::size_t batch, callback<retention::pass> done)
{
    const auto text = [](const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : std::string(); };
    std::vector<std::string> args{
        settings_.prefix, text(cut.delivered), text(cut.dead), text(cut.log), std::to_string(batch)};
    const auto subs = subs_.current();
    for (const auto& s : *subs) {
        args.push_back(s.name);
    }
    client_->eval(scripts_->retain, std::move(args), [done = std::move(done)](result<redis_reply> r) {
        if (!usable(r, "retention") || r->elements.size() != 6) {
            done(failure<retention::pass>());
            return;
        }
        retention::pass p;
        p.rows = {r->elements[0].number(), r->elements[1].number(), r->elements[2].number(), r->elements[3].number(),
            r->elements[4].number()};
        p.more = r->elements[5].number() != 0;
        done(p);
    });
}

} // namespace switchboard
