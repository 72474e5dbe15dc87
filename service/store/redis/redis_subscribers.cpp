// The Redis store's stored subscribers (the subscriber API), and what a subscriber's removal
// takes with it. Every replica polls P subs:version (one GET a second) and reads the table when
// it changed, so a subscriber created, changed or removed on one replica reaches the others
// within a second.
//
// Keys (with those listed in redis_scripts.cpp):
//   P subs            hash: name -> the subscriber's document (JSON)
//   P subs:ver        hash: name -> its version
//   P subs:version    counter: the table's version, incremented by every change
//   P subs:removed    zset removed at (ms) -> name: removed in the last day; an append planned
//                     from a list that still had it (another replica, before its next poll)
//                     skips it in write.lua
#include "service/store/redis/redis_records.hpp"

#include "service/ops/clock.hpp"

#include <algorithm>

namespace switchboard {

using namespace redis_detail;

namespace redis_scripts {

// ARGV: P -> {table version, name, document, version, ...}
const char* const subscribers = R"lua(
local p = ARGV[1]
local out = {redis.call('GET', p .. 'subs:version') or '0'}
local docs = redis.call('HGETALL', p .. 'subs')
for i = 1, #docs, 2 do
  out[#out + 1] = docs[i]
  out[#out + 1] = docs[i + 1]
  out[#out + 1] = redis.call('HGET', p .. 'subs:ver', docs[i]) or '0'
end
return out
)lua";

// ARGV: P, name, document, expected version ('0': create) -> {'ok', version} | {'conflict'} | {'not_found'}
const char* const put_subscriber = R"lua(
local p, s, doc, expected = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local cur = redis.call('HGET', p .. 'subs:ver', s)
if expected == '0' then
  if cur then return {'conflict'} end
else
  if not cur then return {'not_found'} end
  if cur ~= expected then return {'conflict'} end
end
local next = (tonumber(cur) or 0) + 1
redis.call('HSET', p .. 'subs', s, doc)
redis.call('HSET', p .. 'subs:ver', s, next)
redis.call('ZREM', p .. 'subs:removed', s)
redis.call('INCR', p .. 'subs:version')
return {'ok', next}
)lua";

// ARGV: P, name, force ('1' | '0'), now (ms) -> {'ok', undelivered} | {'conflict', undelivered} | {'not_found'}
// Removes the subscriber from the table; its delivery records go in purge_subscriber's batches.
const char* const remove_subscriber = R"lua(
local p, s, force, now = ARGV[1], ARGV[2], ARGV[3] == '1', tonumber(ARGV[4])
if not redis.call('HGET', p .. 'subs:ver', s) then return {'not_found'} end
local n = redis.call('ZCARD', p .. 'live:' .. s)
if n > 0 and not force then return {'conflict', n} end
redis.call('HDEL', p .. 'subs', s)
redis.call('HDEL', p .. 'subs:ver', s)
redis.call('ZADD', p .. 'subs:removed', now, s)
redis.call('ZREMRANGEBYSCORE', p .. 'subs:removed', '-inf', now - 86400000)
redis.call('INCR', p .. 'subs:version')
return {'ok', n}
)lua";

// ARGV: P, name, batch -> 1 while records are left, 0 once every key of the subscriber is gone.
// Each removed record counts its event one row fewer; an event left with none that retention's
// walk already passed is walked again (retention removes it when it is old enough).
const char* const purge_subscriber = R"lua(
local p, s, batch = ARGV[1], ARGV[2], tonumber(ARGV[3])
local removed, lowest = 0, nil
for _, z in ipairs({'live:', 'dead:', 'delivered:'}) do
  local key = p .. z .. s
  if removed < batch then
    for _, seq in ipairs(redis.call('ZRANGE', key, 0, batch - removed - 1)) do
      if z == 'live:' then -- a per_call subscriber's order of the event's call goes too
        redis.call('DEL', p .. 'order:' .. s .. ':' .. (redis.call('HGET', p .. 'ev:' .. seq, 'subject') or ''))
      end
      redis.call('DEL', p .. 'd:' .. s .. ':' .. seq)
      redis.call('ZREM', key, seq)
      removed = removed + 1
      local ek = p .. 'ev:' .. seq
      if redis.call('HEXISTS', ek, 'left') == 1 and redis.call('HINCRBY', ek, 'left', -1) <= 0 then
        local n = tonumber(seq)
        if not lowest or n < lowest then lowest = n end
      end
    end
  end
end
if lowest then
  local cursor = tonumber(redis.call('GET', p .. 'retain:events') or '0')
  if lowest <= cursor then redis.call('SET', p .. 'retain:events', lowest - 1) end
end
if removed >= batch then return 1 end
redis.call('DEL', p .. 'q:' .. s, p .. 'retry:' .. s, p .. 'delivered_at:' .. s, p .. 'died_at:' .. s)
redis.call('SREM', p .. 'subscribers', s)
return 0
)lua";

} // namespace redis_scripts

void redis_store::subscribe(std::vector<subscription> subs)
{
    subs_.replace(std::move(subs));
}

void redis_store::subscribers(callback<subscriber_table> done)
{
    client_->eval(scripts_->subscribers, {settings_.prefix}, [done = std::move(done)](result<redis_reply> r) {
        if (!usable(r, "subscribers") || r->elements.empty()) {
            done(failure<subscriber_table>());
            return;
        }
        subscriber_table t;
        const auto& e = r->elements;
        t.version = e[0].number();
        for (std::size_t i = 1; i + 2 < e.size(); i += 3) {
            t.subscribers.push_back({e[i].text(), e[i + 1].text(), e[i + 2].number()});
        }
        std::sort(t.subscribers.begin(), t.subscribers.end(),
            [](const stored_subscriber& a, const stored_subscriber& b) { return a.name < b.name; });
        done(std::move(t));
    });
}

void redis_store::subscribers_version(callback<std::int64_t> done)
{
    client_->command({"GET", settings_.prefix + "subs:version"}, [done = std::move(done)](result<redis_reply> r) {
        if (!usable(r, "subscribers version")) {
            done(failure<std::int64_t>());
            return;
        }
        done(r->is_nil() ? 0 : to_number(r->text()));
    });
}

void redis_store::put_subscriber(
    std::string name, std::string document, std::int64_t expected_version, callback<std::int64_t> done)
{
    client_->eval(scripts_->put_subscriber,
        {settings_.prefix, std::move(name), std::move(document), std::to_string(expected_version)},
        [done = std::move(done)](result<redis_reply> r) {
            if (!usable(r, "put subscriber") || r->elements.empty()) {
                done(failure<std::int64_t>());
                return;
            }
            const std::string status = r->elements[0].text();
            if (status == "ok" && r->elements.size() == 2) {
                done(r->elements[1].number());
            } else {
                done(failure<std::int64_t>(status == "not_found" ? error::not_found : error::conflict));
            }
        });
}

void redis_store::remove_subscriber(std::string name, bool force, callback<std::int64_t> done)
{
    client_->eval(scripts_->remove_subscriber,
        {settings_.prefix, name, force ? "1" : "0", std::to_string(unix_ms_now())},
        [this, name, done = std::move(done)](result<redis_reply> r) mutable {
            if (!usable(r, "remove subscriber") || r->elements.empty()) {
                done(failure<std::int64_t>());
                return;
            }
            const std::string status = r->elements[0].text();
            if (status != "ok" || r->elements.size() != 2) {
                done(failure<std::int64_t>(status == "not_found" ? error::not_found : error::conflict));
                return;
            }
            purge(std::move(name), r->elements[1].number(), std::move(done));
        });
}

void redis_store::purge(std::string name, std::int64_t undelivered, callback<std::int64_t> done)
{
    // Bounded scripts, one after the other: no single one holds Redis for long.
    client_->eval(scripts_->purge_subscriber, {settings_.prefix, name, "1000"},
        [this, name, undelivered, done = std::move(done)](result<redis_reply> r) mutable {
            if (!usable(r, "purge subscriber")) {
                // The subscriber is removed; what is left of its records stays until it is
                // created and removed again (README "Managing subscribers").
                done(failure<std::int64_t>());
                return;
            }
            if (r->number() == 0) {
                done(undelivered);
                return;
            }
            purge(std::move(name), undelivered, std::move(done));
        });
}

} // namespace switchboard
