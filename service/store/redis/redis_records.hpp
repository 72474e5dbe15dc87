// The Redis store's shared parts: the call and message records as hash fields (their rules are
// protocol/events/records.hpp's), reply helpers, and the store's script table and versioned
// write. Internal to service/store/redis/: redis_store.cpp (the event and delivery path) and
// redis_call_log.cpp (the call log and Idempotency-Key records) use them.
#pragma once

#include "protocol/core/error.hpp"
#include "protocol/events/records.hpp"
#include "service/ops/log.hpp"
#include "service/store/redis/record_guesses.hpp"
#include "service/store/redis/redis_scripts.hpp"
#include "service/store/redis/redis_store.hpp"

#include <atomic>
#include <charconv>
#include <map>
#include <memory>
#include <mutex>
#include <type_traits>
#include <unordered_map>

namespace switchboard {
namespace redis_detail {

using record = std::unordered_map<std::string, std::string>;
using fields = std::vector<std::pair<std::string, std::string>>;
template <class T> using result = boost::system::result<T>;

// Optimistic concurrency: a write whose record changed since it was guessed or last seen is
// planned again from the record the refusal carries. Only concurrent updates of one call can
// collide again and again; this bounds a pathological storm.
constexpr int max_conflicts = 100;

template <class T> result<T> failure(error e = error::store_unavailable)
{
    return {boost::system::in_place_error, make_error_code(e)};
}

inline std::int64_t to_number(std::string_view s, std::int64_t fallback = 0)
{
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    return ec == std::errc{} && end == s.data() + s.size() && !s.empty() ? n : fallback;
}

inline std::optional<std::int64_t> optional_number(std::string_view s)
{
    if (s.empty()) {
        return std::nullopt;
    }
    return to_number(s);
}

inline std::string optional_text(const std::optional<std::int64_t>& v)
{
    return v ? std::to_string(*v) : std::string();
}

inline const std::string& get(const record& r, const std::string& name)
{
    static const std::string none;
    const auto it = r.find(name);
    return it == r.end() ? none : it->second;
}

// The call and message records as hash fields. The records and every rule of how they change
// are protocol/events/records.hpp's: the plan reads the hash, applies there, and writes back the
// fields that differ with what the change adds to P totals; the write script only checks the
// version and writes.
inline call_record to_call(const record& h, const std::string& sid)
{
    call_record c;
    c.call_sid = sid;
    c.account_sid = get(h, "account");
    c.from = get(h, "from");
    c.to = get(h, "to");
    c.direction = get(h, "direction");
    c.status = get(h, "status");
    c.last_sequence = to_number(get(h, "last_sequence"), -1);
    c.duration_seconds = optional_number(get(h, "duration"));
    c.started_at_ms = to_number(get(h, "started"));
    c.ended_at_ms = optional_number(get(h, "ended"));
    c.updated_at_ms = to_number(get(h, "updated"));
    c.menu_selections = split_selections(get(h, "menu"));
    c.agent_name = get(h, "agent");
    c.call_purpose = get(h, "purpose");
    c.workflow_id = get(h, "workflow");
    return c;
}

inline fields to_fields(const call_record& c)
{
    return {{"account", c.account_sid}, {"from", c.from}, {"to", c.to}, {"direction", c.direction},
        {"status", c.status}, {"last_sequence", std::to_string(c.last_sequence)},
        {"duration", optional_text(c.duration_seconds)}, {"started", std::to_string(c.started_at_ms)},
        {"ended", optional_text(c.ended_at_ms)}, {"updated", std::to_string(c.updated_at_ms)},
        {"menu", join_selections(c.menu_selections)}, {"agent", c.agent_name}, {"purpose", c.call_purpose},
        {"workflow", c.workflow_id}};
}

inline message_record to_message(const record& h, const std::string& sid)
{
    message_record m;
    m.message_sid = sid;
    m.account_sid = get(h, "account");
    m.from = get(h, "from");
    m.to = get(h, "to");
    m.direction = get(h, "direction");
    m.status = get(h, "status");
    m.body = get(h, "body");
    m.num_media = optional_number(get(h, "num_media"));
    m.error_code = get(h, "error");
    m.created_at_ms = to_number(get(h, "created"));
    m.updated_at_ms = to_number(get(h, "updated"));
    m.agent_name = get(h, "agent");
    return m;
}

inline fields to_fields(const message_record& m)
{
    return {{"account", m.account_sid}, {"from", m.from}, {"to", m.to}, {"direction", m.direction},
        {"status", m.status}, {"body", m.body}, {"num_media", optional_text(m.num_media)}, {"error", m.error_code},
        {"created", std::to_string(m.created_at_ms)}, {"updated", std::to_string(m.updated_at_ms)},
        {"agent", m.agent_name}};
}

inline bool exists(const record& h)
{
    return h.count("ver") > 0;
}

template <class Record> std::optional<Record> current(const record& h, const std::string& sid)
{
    if (!exists(h)) {
        return std::nullopt;
    }
    if constexpr (std::is_same_v<Record, call_record>) {
        return to_call(h, sid);
    } else {
        return to_message(h, sid);
    }
}

// The write script's record arguments (n, n field/value pairs, k, k totals field/delta pairs):
// the fields whose stored value differs, and the totals change.
template <class Record> void push_change(const record& h, const change<Record>& c, std::vector<std::string>& args)
{
    std::vector<std::string> pairs;
    for (auto& [name, value] : to_fields(c.record)) {
        if (get(h, name) != value) {
            pairs.push_back(std::move(name));
            pairs.push_back(std::move(value));
        }
    }
    args.push_back(std::to_string(pairs.size() / 2));
    args.insert(args.end(), std::make_move_iterator(pairs.begin()), std::make_move_iterator(pairs.end()));
    args.push_back(std::to_string(c.totals.size()));
    for (const auto& [name, delta] : c.totals) {
        args.push_back(name);
        args.push_back(std::to_string(delta));
    }
}

// A row of the history scripts, which add the SID as a field.
inline call_record to_row(const record& h)
{
    return to_call(h, get(h, "sid"));
}

inline void push_no_change(std::vector<std::string>& args)
{
    args.insert(args.end(), {"0", "0"});
}

inline record to_record(const std::vector<redis_reply>& flat, std::size_t from)
{
    record r;
    for (std::size_t i = from; i + 1 < flat.size(); i += 2) {
        r[flat[i].text()] = flat[i + 1].text();
    }
    return r;
}

// A reply that is not what the script returns: Redis refused it (out of memory, read-only
// replica, a script error). Logged once per occurrence; the caller answers 503.
inline bool usable(const result<redis_reply>& r, const char* operation)
{
    if (!r) {
        return false; // no connection: the client logged it
    }
    if (r->is_error()) {
        log::line(log::level::error, "Redis refused a store operation")
            .str("operation", operation)
            .str("error", r->str)
            .emit();
        return false;
    }
    return true;
}

} // namespace redis_detail

struct redis_store::scripts {
    std::size_t read, write, claim, complete, list, replay, stats, calls, call, totals, number, swap, capacity, retain;
    std::size_t subscribers, put_subscriber, remove_subscriber, purge_subscriber;
    // What the claims of one subscriber remember, made at its first claim (subscribers come and
    // go while the store runs) and kept for the process's life (one per name ever claimed).
    struct claim_state {
        std::atomic<std::int64_t> last_reclaim{0};
        // The subscriber's consumer group was there (or made) at an earlier claim of this process.
        std::atomic<bool> group_seen{false};
    };
    claim_state& claims_of(const std::string& subscriber)
    {
        std::lock_guard lock(claim_mutex);
        auto& c = claims[subscriber];
        if (!c) {
            c = std::make_unique<claim_state>();
        }
        return *c;
    }
    std::mutex claim_mutex;
    std::unordered_map<std::string, std::unique_ptr<claim_state>> claims;
};

// One versioned write: the record it reads and changes (kind and SID; none for an event with no
// record), the dedupe key it checks (events only), and how it turns the record into the write
// script's arguments after the version: the changed fields' count and pairs, then the event's.
struct redis_store::write_op {
    const char* operation; // for logs
    std::string kind; // call | msg | "" (no record)
    std::string sid;
    std::string dedupe_key; // "" for no event
    plan_fn plan;
    // The event a Twilio retry duplicates (its id), or "" once the write is stored.
    callback<std::string> done;
    int conflicts = 0;
    bool replanned = false; // planned again from the record a conflict reply carried
};

namespace redis_detail {

// The record a planned write leaves: `rec` with the written fields (arguments 5.. of the write
// script, after the field count at 4) and the next version.
inline record written_record(record rec, const std::vector<std::string>& args)
{
    const std::size_t n = std::stoul(args.at(4));
    for (std::size_t i = 0; i < n; ++i) {
        rec[args.at(5 + 2 * i)] = args.at(6 + 2 * i);
    }
    rec["ver"] = std::to_string(std::stoll(args.at(3)) + 1);
    return rec;
}

} // namespace redis_detail

} // namespace switchboard
