// The Lua scripts of the Redis store. Each runs atomically in Redis: no other replica's command
// runs between its steps. Every key starts with the configured prefix (ARGV[1]); the scripts
// name their keys themselves, so they need a standalone Redis (or one cluster slot), not
// Redis Cluster.
//
// One file because every script reads and writes the same key layout (described here once):
// checking that layout means reading the scripts side by side.
//
// Keys (P = the prefix, S = a subscriber name):
//   P seq                 counter: the next event's position
//   P ev:<seq>            hash: id, type, at (occurred, ms), payload (JSON), subject (call/message SID),
//                         dk (its dedupe key), left (its delivery records not yet removed by retention)
//   P dedupe              hash: dedupe key -> event id (Twilio retries)
//   P evid                hash: event id -> seq
//   P subject:<sid>       list of seq: a call's or message's events, oldest first
//   P call:<sid>          hash: the call log row (fields below), plus ver (optimistic concurrency)
//   P calls               zset started_at_ms -> call SID (newest-first paging)
//   P calls:s:<status>, P calls:d:<direction>, P calls:outbound   the same, by status / direction
//   P msg:<sid>           hash: the message log row, plus ver
//   P msgs                zset created_at_ms -> message SID (retention)
//   P totals              hash: per-(status, direction) call counts and durations, SMS counts
//   P numbers             hash: number SID -> phone number; P phones: set of phone numbers
//   P q:S                 stream of {seq}: S's deliveries to make; consumer group "deliverers"
//   P d:S:<seq>           hash: state, attempts, next, first, last, status, error, entry (stream id);
//                         ordered, waiting (per_call: in its subject's order; held out of the stream)
//   P live:S              zset seq: S's pending and in-flight deliveries
//   P retry:S             zset next_attempt_at_ms -> seq: pending deliveries waiting for a retry
//   P order:S:<subject>   zset seq: a per_call subscriber's live deliveries of one call or message; only
//                         the first is claimed, the others wait out of the stream (d: field waiting)
//   P dead:S, P delivered:S   zset seq
//   P delivered_at:S, P died_at:S   zset finished at (ms) -> seq (retention)
//   P subscribers         set: every subscriber name that has had deliveries (retention)
//   P retain:events       the last event seq retention examined
//   P retain:indexed      hash: progress of indexing records stored before the retention indexes
//   P idem:<scope>        string: an Idempotency-Key record (protocol/phone_api/idempotency.hpp), expiring
//   P rate:<client>       hash: tokens, at: a shared token bucket (rate_limit below), expiring; a
//                         subscriber's rate_per_second is P rate:subscriber:S
//   P subs, P subs:ver, P subs:version, P subs:removed   the stored subscribers (redis_subscribers.cpp)
#include "service/store/redis/redis_scripts.hpp"

namespace switchboard::redis_scripts {

// ARGV: P, kind (call | msg), sid, dedupe key ('' for none); for an append that does not guess.
// -> {duplicate event id or '', record version, field, value, ...}
const char* const read = R"lua(
local p, kind, sid, dedupe = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local dup = ''
if dedupe ~= '' then
  dup = redis.call('HGET', p .. 'dedupe', dedupe) or ''
end
local out = {dup}
if sid ~= '' then
  local rec = redis.call('HGETALL', p .. kind .. ':' .. sid)
  for _, v in ipairs(rec) do out[#out + 1] = v end
end
return out
)lua";

// ARGV: P, kind (call | msg | ''), sid, expected version, n, n field/value pairs, k, k totals
//       field/delta pairs (what the change adds to P totals: protocol/events/records.hpp computes it from the
//       record it read at that version), then for an event: dedupe key, id, type, at, payload,
//       subject, m, m subscribers.
// -> {'ok', seq} | {'duplicate', event id} | {'conflict', the record's fields and values...}
const char* const write = R"lua(
local p, kind, sid, expected = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local n = tonumber(ARGV[5])
local k = tonumber(ARGV[6 + 2 * n])
local at = 7 + 2 * n + 2 * k
local has_event = #ARGV >= at
if has_event then
  local dup = redis.call('HGET', p .. 'dedupe', ARGV[at])
  if dup then return {'duplicate', dup} end
end

local function outbound(d) return string.sub(d, 1, 8) == 'outbound' end
local function call_index(g, sign, started)
  if not g then return end
  local keys = {p .. 'calls:s:' .. g.status, p .. 'calls:d:' .. g.direction}
  if outbound(g.direction) then keys[#keys + 1] = p .. 'calls:outbound' end
  for _, k in ipairs(keys) do
    if sign > 0 then redis.call('ZADD', k, started, sid) else redis.call('ZREM', k, sid) end
  end
end

if kind ~= '' then
  local rec = p .. kind .. ':' .. sid
  local ver = redis.call('HGET', rec, 'ver') or '0'
  if ver ~= expected then -- with the record as it is: the caller plans again from it
    local out = redis.call('HGETALL', rec); table.insert(out, 1, 'conflict'); return out
  end
  local before
  if ver ~= '0' then
    local b = redis.call('HMGET', rec, 'status', 'direction', 'started')
    before = {status = b[1] or '', direction = b[2] or '', started = b[3] or '0'}
  end
  if n > 0 then
    local fields = {}
    for i = 6, 5 + 2 * n do fields[#fields + 1] = ARGV[i] end
    redis.call('HSET', rec, unpack(fields))
  end
  redis.call('HINCRBY', rec, 'ver', 1)
  local a = redis.call('HMGET', rec, 'status', 'direction', 'started')
  local after = {status = a[1] or '', direction = a[2] or '', started = a[3] or '0'}
  if kind == 'msg' and not before then
    redis.call('ZADD', p .. 'msgs', redis.call('HGET', rec, 'created') or '0', sid)
  end
  if kind == 'call' then
    if not before then redis.call('ZADD', p .. 'calls', after.started, sid) end
    if not before or before.status ~= after.status or before.direction ~= after.direction then
      call_index(before, -1, 0)
      call_index(after, 1, after.started)
    end
  end
  for i = 7 + 2 * n, 6 + 2 * n + 2 * k, 2 do
    redis.call('HINCRBY', p .. 'totals', ARGV[i], ARGV[i + 1])
  end
end

if not has_event then return {'ok', 0} end
local dedupe, id, type, occurred, payload, subject = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5]
local seq = redis.call('INCR', p .. 'seq')
-- A subscriber removed since the caller's list was read (another replica's change, before this
-- replica's next poll) gets nothing.
-- A name with a leading '+' is a per_call subscriber: its delivery joins the order of its subject.
local subs, ordered = {}, {}
for i = at + 7, at + 6 + tonumber(ARGV[at + 6]) do
  local s = ARGV[i]
  local per_call = string.byte(s, 1) == 43
  if per_call then s = string.sub(s, 2) end
  if not redis.call('ZSCORE', p .. 'subs:removed', s) then
    subs[#subs + 1] = s
    ordered[s] = per_call and subject ~= ''
  end
end
redis.call('HSET', p .. 'ev:' .. seq, 'id', id, 'type', type, 'at', occurred, 'payload', payload, 'subject', subject,
  'dk', dedupe, 'left', #subs)
redis.call('HSET', p .. 'dedupe', dedupe, id)
redis.call('HSET', p .. 'evid', id, seq)
if subject ~= '' then redis.call('RPUSH', p .. 'subject:' .. subject, seq) end
for _, s in ipairs(subs) do
  local entry = redis.call('XADD', p .. 'q:' .. s, '*', 'seq', seq)
  redis.call('HSET', p .. 'd:' .. s .. ':' .. seq, 'state', 'pending', 'attempts', 0, 'next', occurred, 'entry', entry)
  redis.call('ZADD', p .. 'live:' .. s, seq, seq)
  if ordered[s] then
    redis.call('HSET', p .. 'd:' .. s .. ':' .. seq, 'ordered', '1')
    redis.call('ZADD', p .. 'order:' .. s .. ':' .. subject, seq, seq)
  end
end
return {'ok', seq}
)lua";

// ARGV: P, subscriber, group, consumer, limit, now (ms), reclaim idle (ms), reclaim ('1' | '0')
// -> {{seq, event id, payload, at, attempts, first attempt or '', entry}, ...}, next due or '',
//     {consumer, entries taken over from it, ...}, group created ('1' | '0')}
const char* const claim = R"lua(
local p, s, g, c = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local limit, now, idle, reclaim = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], ARGV[8] == '1'
local q, retry = p .. 'q:' .. s, p .. 'retry:' .. s
-- A Redis that lost its data (restarted without AOF, failed over to an empty replica) lost the
-- group too: make it again (the caller says so at error level) rather than fail with NOGROUP.
local made = redis.pcall('XGROUP', 'CREATE', q, g, '0', 'MKSTREAM')
local created = (type(made) == 'table' and made.ok) and '1' or '0'

-- Retries that are due go back into the stream, so the group hands them out again.
for _, seq in ipairs(redis.call('ZRANGEBYSCORE', retry, '-inf', now, 'LIMIT', 0, limit)) do
  local entry = redis.call('XADD', q, '*', 'seq', seq)
  redis.call('HSET', p .. 'd:' .. s .. ':' .. seq, 'entry', entry)
  redis.call('ZREM', retry, seq)
end

local entries = {}
local taken = {}
if reclaim then
  -- Deliveries a replica took and never finished (it died): ours now. XPENDING filters by idle
  -- time over the whole pending list, so fresh entries in flight (ours or another replica's)
  -- never use up the scan, however few slots are free; XCLAIM re-checks the idle time, so two
  -- replicas never both take one.
  local stale = redis.call('XPENDING', q, g, 'IDLE', tonumber(idle), '-', '+', limit)
  local ids, from = {}, {}
  for _, e in ipairs(stale) do
    ids[#ids + 1] = e[1]
    from[e[1]] = e[2]
  end
  if #ids > 0 then
    local by = {}
    for _, e in ipairs(redis.call('XCLAIM', q, g, c, idle, unpack(ids))) do
      if type(e) == 'table' and type(e[2]) == 'table' then
        entries[#entries + 1] = e
        local who = from[e[1]] or '?'
        by[who] = (by[who] or 0) + 1
      end
    end
    for who, n in pairs(by) do
      taken[#taken + 1] = who
      taken[#taken + 1] = n
    end
  end
  -- Consumers of replicas long gone, with nothing pending: forget them.
  for _, info in ipairs(redis.call('XINFO', 'CONSUMERS', q, g)) do
    local f = {}
    for i = 1, #info, 2 do f[info[i]] = info[i + 1] end
    if f['name'] ~= c and tonumber(f['pending']) == 0 and tonumber(f['idle']) > 86400000 then
      redis.call('XGROUP', 'DELCONSUMER', q, g, f['name'])
    end
  end
end
if #entries < limit then
  local r = redis.call('XREADGROUP', 'GROUP', g, c, 'COUNT', limit - #entries, 'STREAMS', q, '>')
  if r then
    for _, e in ipairs(r[1][2]) do entries[#entries + 1] = e end
  end
end

local out = {}
for _, e in ipairs(entries) do
  local entry, seq = e[1], e[2][2]
  local dk = p .. 'd:' .. s .. ':' .. seq
  local d = redis.call('HMGET', dk, 'state', 'attempts', 'first', 'entry', 'ordered')
  local ev = redis.call('HMGET', p .. 'ev:' .. seq, 'id', 'payload', 'at', 'subject')
  if d[4] ~= entry or (d[1] ~= 'pending' and d[1] ~= 'in_flight') or not ev[1] then
    -- Superseded (re-queued under a newer entry) or finished: drop the stale entry.
    redis.call('XACK', q, g, entry)
    redis.call('XDEL', q, entry)
  elseif d[5] == '1' and redis.call('ZRANGE', p .. 'order:' .. s .. ':' .. ev[4], 0, 0)[1] ~= seq then
    -- per_call, and an earlier event of its call is not delivered or dead yet: it waits, out of
    -- the stream, until complete hands it back in.
    redis.call('XACK', q, g, entry)
    redis.call('XDEL', q, entry)
    redis.call('HSET', dk, 'entry', '', 'waiting', '1')
  else
    redis.call('HSET', dk, 'state', 'in_flight')
    out[#out + 1] = {seq, ev[1], ev[2], ev[3], d[2] or '0', d[3] or '', entry}
  end
end
local next_due = ''
local first = redis.call('ZRANGE', retry, 0, 0, 'WITHSCORES')
if first[2] then next_due = first[2] end
return {out, next_due, taken, created}
)lua";

// ARGV: P, subscriber, group, seq, entry (the claim's token), state, attempts, next, attempted,
//       status, error -> 1 | 0 (the delivery is no longer held under that claim)
const char* const complete = R"lua(
local p, s, g, seq, entry, state = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local dk = p .. 'd:' .. s .. ':' .. seq
local cur = redis.call('HMGET', dk, 'state', 'entry', 'ordered')
if cur[1] ~= 'in_flight' or cur[2] ~= entry then return 0 end
local q = p .. 'q:' .. s
redis.call('XACK', q, g, entry)
redis.call('XDEL', q, entry)
redis.call('HSET', dk, 'state', state, 'attempts', ARGV[7], 'last', ARGV[9], 'status', ARGV[10], 'error', ARGV[11], 'entry', '')
redis.call('HSETNX', dk, 'first', ARGV[9])
if state == 'pending' then
  redis.call('HSET', dk, 'next', ARGV[8])
  redis.call('ZADD', p .. 'retry:' .. s, ARGV[8], seq)
else
  redis.call('ZREM', p .. 'live:' .. s, seq)
  redis.call('ZADD', p .. state .. ':' .. s, seq, seq)
  redis.call('ZADD', p .. (state == 'dead' and 'died_at:' or 'delivered_at:') .. s, ARGV[9], seq)
  if cur[3] == '1' then
    -- per_call: the call's next event, if it waits, goes back into the stream.
    local order = p .. 'order:' .. s .. ':' .. (redis.call('HGET', p .. 'ev:' .. seq, 'subject') or '')
    redis.call('ZREM', order, seq)
    local head = redis.call('ZRANGE', order, 0, 0)[1]
    if head then
      local hk = p .. 'd:' .. s .. ':' .. head
      if redis.call('HGET', hk, 'waiting') == '1' then
        redis.call('HSET', hk, 'entry', redis.call('XADD', q, '*', 'seq', head))
        redis.call('HDEL', hk, 'waiting')
      end
    end
  end
end
return 1
)lua";

// ARGV: P, subscriber, state, after seq, limit
// -> {{seq, event id, type, at, state, attempts, next, status, error}, ...}
const char* const list = R"lua(
local p, s, state, after, limit = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local set = (state == 'pending' or state == 'in_flight') and 'live' or state
local key = p .. set .. ':' .. s
local out, from, scanned = {}, after, 0
while #out < limit and scanned < 100000 do
  -- The score is the seq: each page starts after the last one seen (no growing offset to skip).
  local seqs = redis.call('ZRANGEBYSCORE', key, '(' .. from, '+inf', 'LIMIT', 0, 500)
  if #seqs == 0 then break end
  for _, seq in ipairs(seqs) do
    from = seq
    scanned = scanned + 1
    local d = redis.call('HMGET', p .. 'd:' .. s .. ':' .. seq, 'state', 'attempts', 'next', 'status', 'error')
    if d[1] == state then
      local ev = redis.call('HMGET', p .. 'ev:' .. seq, 'id', 'type', 'at')
      out[#out + 1] = {seq, ev[1] or '', ev[2] or '', ev[3] or '0', d[1], d[2] or '0', d[3] or '0', d[4] or '0', d[5] or ''}
      if #out >= limit then break end
    end
  end
end
return out
)lua";

// ARGV: P, subscriber, event id ('' for the oldest dead deliveries), now, batch -> how many were re-queued
const char* const replay = R"lua(
local p, s, id, now, batch = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local dead = p .. 'dead:' .. s
local seqs
if id == '' then
  seqs = redis.call('ZRANGE', dead, 0, batch - 1) -- bounded: the caller repeats until done
else
  local seq = redis.call('HGET', p .. 'evid', id)
  if not seq or not redis.call('ZSCORE', dead, seq) then return 0 end
  seqs = {seq}
end
for _, seq in ipairs(seqs) do
  redis.call('ZREM', dead, seq)
  redis.call('ZREM', p .. 'died_at:' .. s, seq)
  redis.call('ZADD', p .. 'live:' .. s, seq, seq)
  local entry = redis.call('XADD', p .. 'q:' .. s, '*', 'seq', seq)
  local dk = p .. 'd:' .. s .. ':' .. seq
  redis.call('HSET', dk, 'state', 'pending', 'attempts', 0, 'next', now, 'entry', entry)
  redis.call('HDEL', dk, 'first', 'waiting')
  if redis.call('HGET', dk, 'ordered') == '1' then
    local subject = redis.call('HGET', p .. 'ev:' .. seq, 'subject') or ''
    redis.call('ZADD', p .. 'order:' .. s .. ':' .. subject, seq, seq)
  end
end
return #seqs
)lua";

// ARGV: P, group, subscribers... -> {{pending, in flight, dead, oldest occurred at or ''}, ...}
const char* const stats = R"lua(
local p, g = ARGV[1], ARGV[2]
local out = {}
for i = 3, #ARGV do
  local s = ARGV[i]
  local live = redis.call('ZCARD', p .. 'live:' .. s)
  local held = 0
  local summary = redis.pcall('XPENDING', p .. 'q:' .. s, g)
  if type(summary) == 'table' and summary[1] then held = summary[1] end
  if held > live then held = live end
  local oldest = ''
  local first = redis.call('ZRANGE', p .. 'live:' .. s, 0, 0)
  if first[1] then oldest = redis.call('HGET', p .. 'ev:' .. first[1], 'at') or '' end
  out[#out + 1] = {live - held, held, redis.call('ZCARD', p .. 'dead:' .. s), oldest}
end
return out
)lua";

// ARGV: P, status, direction, before started ('' for the first page), before SID, limit
// -> {next started, next SID, {field, value, ...}, ...} newest first; next started is '' at the
// end of the log. The window moves by score (started_at ms), never by a growing offset, and one
// call examines at most 2000 index entries: a selective filter returns a short page with a
// next position instead of holding Redis for a long scan.
const char* const calls = R"lua(
local p, status, direction, before, before_sid, limit = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local key = p .. 'calls'
local check_direction = false
if status ~= '' then
  key = p .. 'calls:s:' .. status
  check_direction = direction ~= ''
elseif direction == 'outbound' then
  key = p .. 'calls:outbound'
elseif direction ~= '' then
  key = p .. 'calls:d:' .. direction
end
-- Entries at score `max` with a SID >= tie_sid were on an earlier page (equal scores come in
-- descending SID order); `skip` counts the entries at score `max` already read by this call.
local max, tie_sid, skip = '+inf', nil, 0
if before ~= '' then max, tie_sid = before, before_sid end
local out, scanned, last_started, last_sid, ended = {}, 0, nil, nil, false
while #out < limit and scanned < 2000 do
  local page = redis.call('ZREVRANGEBYSCORE', key, max, '-inf', 'WITHSCORES', 'LIMIT', skip, 200)
  if #page == 0 then ended = true break end
  local read, tail = 0, 0
  for i = 1, #page, 2 do
    local sid, started = page[i], page[i + 1]
    scanned = scanned + 1
    read = read + 1
    if started == last_started then tail = tail + 1 else tail = 1 end
    last_started, last_sid = started, sid
    local keep = not (tie_sid ~= nil and started == max and sid >= tie_sid)
    local row
    if keep then
      row = redis.call('HGETALL', p .. 'call:' .. sid)
      if check_direction then
        local d = ''
        for j = 1, #row, 2 do if row[j] == 'direction' then d = row[j + 1] end end
        keep = d == direction or (direction == 'outbound' and string.sub(d, 1, 8) == 'outbound')
      end
    end
    if keep then
      row[#row + 1] = 'sid'
      row[#row + 1] = sid
      out[#out + 1] = row
      if #out >= limit then break end
    end
  end
  if last_started == max then
    skip = skip + read -- the whole page shared one score: step over it
  else
    max, tie_sid, skip = last_started, nil, tail
  end
end
local result = {'', ''}
if not ended and last_started ~= nil then result = {last_started, last_sid} end
for i = 1, #out do result[#result + 1] = out[i] end
return result
)lua";

// ARGV: P, call SID -> {{field, value, ...}, payload, payload, ...} ({} for an unknown call)
const char* const call = R"lua(
local p, sid = ARGV[1], ARGV[2]
local row = redis.call('HGETALL', p .. 'call:' .. sid)
if #row == 0 then return {} end
row[#row + 1] = 'sid'
row[#row + 1] = sid
local out = {row}
for _, seq in ipairs(redis.call('LRANGE', p .. 'subject:' .. sid, 0, 999)) do
  out[#out + 1] = redis.call('HGET', p .. 'ev:' .. seq, 'payload') or ''
end
return out
)lua";

// ARGV: P, a number in use ('' for none) -> {{field, value, ...} of the totals, numbers}
const char* const totals = R"lua(
local p, also = ARGV[1], ARGV[2]
local numbers = redis.call('HLEN', p .. 'numbers')
if also ~= '' and redis.call('SISMEMBER', p .. 'phones', also) == 0 then numbers = numbers + 1 end
return {redis.call('HGETALL', p .. 'totals'), numbers}
)lua";

// ARGV: P, every subscriber's name -> {events, deliveries (any state), calls, messages}
const char* const capacity = R"lua(
local p = ARGV[1]
local deliveries = 0
for i = 2, #ARGV do
  local s = ARGV[i]
  deliveries = deliveries + redis.call('ZCARD', p .. 'live:' .. s) + redis.call('ZCARD', p .. 'dead:' .. s)
    + redis.call('ZCARD', p .. 'delivered:' .. s)
end
return {redis.call('HLEN', p .. 'evid'), deliveries, redis.call('ZCARD', p .. 'calls'), redis.call('ZCARD', p .. 'msgs')}
)lua";

// ARGV: P, sid, phone number, friendly name, purchased at
const char* const number = R"lua(
local p, sid = ARGV[1], ARGV[2]
redis.call('HSET', p .. 'numbers', sid, ARGV[3])
redis.call('SADD', p .. 'phones', ARGV[3])
local k = p .. 'number:' .. sid
redis.call('HSET', k, 'phone', ARGV[3], 'friendly', ARGV[4])
redis.call('HSETNX', k, 'purchased', ARGV[5])
return 1
)lua";

// Compare-and-set of one string key: the Idempotency-Key records. The rules are C++'s
// (protocol/idempotency); this only makes the read-decide-write atomic across replicas.
// ARGV: key, expected value ('' = absent), new value ('' = delete), time to live in ms ('' =
// keep the key's own)
// -> 1 when the key held `expected` and now holds the new value, 0 when it held something else
const char* const swap = R"lua(
local key, expected, value, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if (redis.call('GET', key) or '') ~= expected then return 0 end
if value == '' then
  redis.call('DEL', key)
elseif ttl == '' then
  redis.call('SET', key, value, 'KEEPTTL')
else
  redis.call('SET', key, value, 'PX', ttl)
end
return 1
)lua";

// A token bucket per client, shared by every replica; the clock is Redis' own (rate_limiter
// is the same bucket in one process). ARGV: key, capacity, tokens per second[, wanted (1)]
// -> {tokens taken (0 to wanted), seconds to wait for one when none was (text)}
const char* const rate_limit = R"lua(
local key, capacity, rate = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local wanted = tonumber(ARGV[4]) or 1
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(b[1]) or capacity
local at = tonumber(b[2]) or now
if now > at then tokens = math.min(capacity, tokens + (now - at) / 1000 * rate) end
local allowed, wait = math.min(wanted, math.floor(tokens + 1e-9)), 0
if allowed >= 1 then
  tokens = math.max(0, tokens - allowed)
else
  allowed = 0
  wait = (1 - tokens) / rate
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'at', math.max(now, at))
redis.call('PEXPIRE', key, math.ceil(capacity / rate * 1000) + 1000)
return {allowed, tostring(wait)}
)lua";

} // namespace switchboard::redis_scripts
