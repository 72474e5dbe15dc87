// The Redis event store: what each operation sends, and how the call and message records are
// kept as hashes (their rules are protocol/records.hpp's, applied to the record read just before).
#include "service/redis_store.hpp"

#include "protocol/error.hpp"
#include "protocol/records.hpp"
#include "protocol/sms.hpp"
#include "service/log.hpp"
#include "service/redis_scripts.hpp"

#include <charconv>
#include <map>
#include <type_traits>
#include <unordered_map>

namespace switchboard {
namespace {

using record = std::unordered_map<std::string, std::string>;
using fields = std::vector<std::pair<std::string, std::string>>;
template <class T> using result = boost::system::result<T>;

// Optimistic concurrency: a write whose record changed since it was read is re-read and
// recomputed. Only concurrent updates of one call can collide; this bounds a pathological storm.
constexpr int max_conflicts = 100;

template <class T> result<T> failure(error e = error::store_unavailable)
{
    return {boost::system::in_place_error, make_error_code(e)};
}

std::int64_t to_number(std::string_view s, std::int64_t fallback = 0)
{
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    return ec == std::errc{} && end == s.data() + s.size() && !s.empty() ? n : fallback;
}

std::optional<std::int64_t> optional_number(std::string_view s)
{
    if (s.empty()) {
        return std::nullopt;
    }
    return to_number(s);
}

std::string optional_text(const std::optional<std::int64_t>& v)
{
    return v ? std::to_string(*v) : std::string();
}

const std::string& get(const record& r, const std::string& name)
{
    static const std::string none;
    const auto it = r.find(name);
    return it == r.end() ? none : it->second;
}

// The call and message records as hash fields. The records and every rule of how they change
// are protocol/records.hpp's: the plan reads the hash, applies there, and writes back the
// fields that differ with what the change adds to P totals; the write script only checks the
// version and writes.
call_record to_call(const record& h, const std::string& sid)
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

fields to_fields(const call_record& c)
{
    return {{"account", c.account_sid}, {"from", c.from}, {"to", c.to}, {"direction", c.direction},
        {"status", c.status}, {"last_sequence", std::to_string(c.last_sequence)},
        {"duration", optional_text(c.duration_seconds)}, {"started", std::to_string(c.started_at_ms)},
        {"ended", optional_text(c.ended_at_ms)}, {"updated", std::to_string(c.updated_at_ms)},
        {"menu", join_selections(c.menu_selections)}, {"agent", c.agent_name}, {"purpose", c.call_purpose},
        {"workflow", c.workflow_id}};
}

message_record to_message(const record& h, const std::string& sid)
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

fields to_fields(const message_record& m)
{
    return {{"account", m.account_sid}, {"from", m.from}, {"to", m.to}, {"direction", m.direction},
        {"status", m.status}, {"body", m.body}, {"num_media", optional_text(m.num_media)}, {"error", m.error_code},
        {"created", std::to_string(m.created_at_ms)}, {"updated", std::to_string(m.updated_at_ms)},
        {"agent", m.agent_name}};
}

bool exists(const record& h)
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
call_record to_row(const record& h)
{
    return to_call(h, get(h, "sid"));
}

void push_no_change(std::vector<std::string>& args)
{
    args.insert(args.end(), {"0", "0"});
}

record to_record(const std::vector<redis_reply>& flat, std::size_t from)
{
    record r;
    for (std::size_t i = from; i + 1 < flat.size(); i += 2) {
        r[flat[i].text()] = flat[i + 1].text();
    }
    return r;
}

// A reply that is not what the script returns: Redis refused it (out of memory, read-only
// replica, a script error). Logged once per occurrence; the caller answers 503.
bool usable(const result<redis_reply>& r, const char* operation)
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

} // namespace

struct redis_store::scripts {
    std::size_t read, write, claim, complete, list, replay, stats, calls, call, totals, number, swap;
    std::unordered_map<std::string, std::unique_ptr<std::atomic<std::int64_t>>> last_reclaim;
    // The subscriber's consumer group was there (or made) at an earlier claim of this process.
    std::unordered_map<std::string, std::unique_ptr<std::atomic<bool>>> group_seen;
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
};

redis_store::redis_store(redis_store_settings settings, std::vector<subscription> subscriptions)
    : settings_(std::move(settings))
    , subs_(std::move(subscriptions))
    , client_(std::make_unique<redis_client>(settings_.connection))
    , scripts_(std::make_unique<scripts>())
{
    auto& c = *client_;
    auto& s = *scripts_;
    s.read = c.add_script(redis_scripts::read);
    s.write = c.add_script(redis_scripts::write);
    s.claim = c.add_script(redis_scripts::claim);
    s.complete = c.add_script(redis_scripts::complete);
    s.list = c.add_script(redis_scripts::list);
    s.replay = c.add_script(redis_scripts::replay);
    s.stats = c.add_script(redis_scripts::stats);
    s.calls = c.add_script(redis_scripts::calls);
    s.call = c.add_script(redis_scripts::call);
    s.totals = c.add_script(redis_scripts::totals);
    s.number = c.add_script(redis_scripts::number);
    s.swap = c.add_script(redis_scripts::swap);
    for (const auto& sub : subs_) {
        s.last_reclaim.emplace(sub.name, std::make_unique<std::atomic<std::int64_t>>(0));
        s.group_seen.emplace(sub.name, std::make_unique<std::atomic<bool>>(false));
    }
}

redis_store::~redis_store()
{
    close();
}

void redis_store::start()
{
    client_->start();
}

void redis_store::close()
{
    client_->stop();
}

bool redis_store::available() const
{
    return client_->connected();
}

void redis_store::on_commit(std::function<void(const store_timing&)> observer)
{
    observer_ = std::move(observer);
}

bool redis_store::knows(const std::string& subscriber) const
{
    for (const auto& s : subs_) {
        if (s.name == subscriber) {
            return true;
        }
    }
    return false;
}

void redis_store::append(append_request req, callback<append_result> done)
{
    const call_event& e = req.event;
    auto op = std::make_shared<write_op>();
    op->operation = "append";
    switch (record_of(e)) {
    case record_kind::call:
        op->kind = "call";
        break;
    case record_kind::message:
        op->kind = "msg";
        break;
    case record_kind::none:
        break;
    }
    op->sid = record_key(e);
    op->dedupe_key = req.dedupe_key;
    // What the latest plan computed: the result once the write that carried it is stored.
    auto out = std::make_shared<append_result>();
    op->plan = [this, req = std::move(req), out, sid = op->sid](const record& rec, std::vector<std::string>& args) {
        *out = append_result{};
        call_event ev = req.event;
        switch (record_of(ev)) {
        case record_kind::call: {
            const call_change c = updated(current<call_record>(rec, sid), ev);
            push_change(rec, c, args);
            out->applied = c.applied;
            out->current_status = ev.current_status;
            break;
        }
        case record_kind::message: {
            const message_change c = updated(current<message_record>(rec, sid), ev);
            push_change(rec, c, args);
            out->current_status = ev.current_status;
            break;
        }
        case record_kind::none:
            push_no_change(args);
            break;
        }
        args.insert(args.end(),
            {req.dedupe_key, ev.id, std::string(to_string(ev.type)), std::to_string(ev.occurred_at_ms), to_json(ev),
                record_key(ev)});
        for (const auto& s : subs_) {
            if (s.matches(ev.type)) {
                out->subscribers.push_back(s.name);
            }
        }
        args.push_back(std::to_string(out->subscribers.size()));
        args.insert(args.end(), out->subscribers.begin(), out->subscribers.end());
        out->event_id = ev.id;
    };
    op->done = [this, out, started = std::chrono::steady_clock::now(), done = std::move(done)](result<std::string> r) {
        if (observer_) {
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            observer_(store_timing{1, seconds, r.has_value()});
        }
        if (!r) {
            done({boost::system::in_place_error, r.error()});
            return;
        }
        if (!r->empty()) {
            append_result dup;
            dup.duplicate = true;
            dup.event_id = std::move(*r);
            done(std::move(dup));
            return;
        }
        done(std::move(*out));
    };
    versioned_write(std::move(op));
}

void redis_store::versioned_write(std::shared_ptr<write_op> op)
{
    client_->eval(scripts_->read, {settings_.prefix, op->kind.empty() ? "call" : op->kind, op->sid, op->dedupe_key},
        [this, op](result<redis_reply> r) {
            if (!usable(r, op->operation) || r->elements.empty()) {
                op->done(failure<std::string>());
                return;
            }
            if (std::string dup = r->elements.front().text(); !dup.empty()) {
                op->done(std::move(dup));
                return;
            }
            const record rec = to_record(r->elements, 1);
            std::vector<std::string> args{
                settings_.prefix, op->kind, op->sid, rec.count("ver") ? get(rec, "ver") : "0"};
            op->plan(rec, args);
            client_->eval(scripts_->write, std::move(args), [this, op](result<redis_reply> w) {
                if (!usable(w, op->operation) || w->elements.empty()) {
                    op->done(failure<std::string>());
                    return;
                }
                const std::string verdict = w->elements.front().text();
                if (verdict == "conflict") {
                    if (++op->conflicts < max_conflicts) {
                        versioned_write(op);
                        return;
                    }
                    log::line(log::level::error, "store write refused: its record kept changing under it")
                        .str("operation", op->operation)
                        .num("attempts", op->conflicts)
                        .emit();
                    op->done(failure<std::string>());
                    return;
                }
                if (verdict == "duplicate" && w->elements.size() > 1) {
                    op->done(w->elements[1].text());
                    return;
                }
                op->done(std::string());
            });
        });
}

void redis_store::upsert(std::string kind, std::string sid, plan_fn plan, callback<bool> done)
{
    auto op = std::make_shared<write_op>();
    op->operation = "record";
    op->kind = std::move(kind);
    op->sid = std::move(sid);
    op->plan = std::move(plan);
    op->done = [done = std::move(done)](result<std::string> r) {
        if (!r) {
            done({boost::system::in_place_error, r.error()});
            return;
        }
        done(true);
    };
    versioned_write(std::move(op));
}

void redis_store::record_call(outbound_call c, callback<bool> done)
{
    std::string sid = c.call_sid;
    auto plan = [c = std::move(c)](const record& rec, std::vector<std::string>& args) {
        push_change(rec, updated(current<call_record>(rec, c.call_sid), c), args);
    };
    upsert("call", std::move(sid), std::move(plan), std::move(done));
}

void redis_store::record_message(outbound_message m, callback<bool> done)
{
    std::string sid = m.message_sid;
    auto plan = [m = std::move(m)](const record& rec, std::vector<std::string>& args) {
        push_change(rec, updated(current<message_record>(rec, m.message_sid), m), args);
    };
    upsert("msg", std::move(sid), std::move(plan), std::move(done));
}

void redis_store::record_number(purchased_number n, callback<bool> done)
{
    client_->eval(scripts_->number,
        {settings_.prefix, n.sid, n.phone_number, n.friendly_name, std::to_string(n.purchased_at_ms)},
        [done = std::move(done)](result<redis_reply> r) {
            if (!usable(r, "record_number")) {
                done(failure<bool>());
                return;
            }
            done(true);
        });
}

// Read the key, decide in C++, compare-and-set; a concurrent change (another replica took the
// key between the read and the write) reads again, a few times at most.
struct redis_store::idempotency_op {
    std::string key;
    std::string fingerprint;
    std::int64_t now_ms = 0;
    idempotency::policy policy;
    callback<idempotency::decision> done;
    int conflicts = 0;
};

void redis_store::idempotency_begin(std::string scope, std::string fingerprint, std::int64_t now_ms,
    idempotency::policy policy, callback<idempotency::decision> done)
{
    auto op = std::make_shared<idempotency_op>(
        idempotency_op{settings_.prefix + "idem:" + scope, std::move(fingerprint), now_ms, policy, std::move(done)});
    idempotency_try(std::move(op));
}

void redis_store::idempotency_try(std::shared_ptr<idempotency_op> op)
{
    client_->command({"GET", op->key}, [this, op](result<redis_reply> r) {
        if (!usable(r, "idempotency_read")) {
            op->done(failure<idempotency::decision>());
            return;
        }
        const std::string current = r->text();
        auto d = idempotency::begin(idempotency::decode(current), op->fingerprint, op->now_ms, op->policy);
        if (!d.write) {
            op->done(std::move(d));
            return;
        }
        std::vector<std::string> args{op->key, current, idempotency::encode(*d.write),
            std::to_string(std::max<std::int64_t>(1, d.write->expires_at_ms - op->now_ms))};
        client_->eval(scripts_->swap, std::move(args), [this, op, d = std::move(d)](result<redis_reply> w) mutable {
            if (!usable(w, "idempotency_write")) {
                op->done(failure<idempotency::decision>());
                return;
            }
            if (w->number() == 1) {
                op->done(std::move(d));
            } else if (++op->conflicts < max_conflicts) {
                idempotency_try(op);
            } else {
                op->done(idempotency::decision{idempotency::verdict::in_flight, std::nullopt, {}});
            }
        });
    });
}

void redis_store::idempotency_finish(
    std::string scope, idempotency::record begun, std::optional<idempotency::record> answer, callback<bool> done)
{
    // The answer keeps the expiry the claim was given ('' = KEEPTTL).
    std::vector<std::string> args{settings_.prefix + "idem:" + scope, idempotency::encode(begun),
        answer ? idempotency::encode(*answer) : std::string(), std::string()};
    client_->eval(scripts_->swap, std::move(args), [done = std::move(done)](result<redis_reply> r) {
        if (!usable(r, "idempotency_finish")) {
            done(failure<bool>());
            return;
        }
        done(r->number() == 1);
    });
}

void redis_store::claim(std::string subscriber, std::size_t limit, std::int64_t now_ms, callback<claim_result> done)
{
    // Deliveries held by a replica that stopped are looked for once a second, not on every claim.
    bool reclaim = false;
    if (const auto it = scripts_->last_reclaim.find(subscriber); it != scripts_->last_reclaim.end()) {
        auto& last = *it->second;
        std::int64_t seen = last.load();
        reclaim = now_ms - seen >= 1000 && last.compare_exchange_strong(seen, now_ms);
    }
    std::atomic<bool>* seen = nullptr;
    if (const auto it = scripts_->group_seen.find(subscriber); it != scripts_->group_seen.end()) {
        seen = it->second.get();
    }
    client_->eval(scripts_->claim,
        {settings_.prefix, subscriber, group, settings_.consumer, std::to_string(limit), std::to_string(now_ms),
            std::to_string(settings_.reclaim_idle.count()), reclaim ? "1" : "0"},
        [done = std::move(done), seen, limit, last = reclaim ? scripts_->last_reclaim.at(subscriber).get() : nullptr](
            result<redis_reply> r) {
            if (!usable(r, "claim") || r->elements.size() != 4) {
                done(failure<claim_result>());
                return;
            }
            claim_result out;
            for (const auto& row : r->elements[0].elements) {
                if (row.elements.size() != 7) {
                    continue;
                }
                claimed_delivery d;
                d.seq = row.elements[0].number();
                d.event_id = row.elements[1].text();
                d.payload = row.elements[2].text();
                d.occurred_at_ms = row.elements[3].number();
                d.attempts = static_cast<int>(row.elements[4].number());
                d.first_attempt_at_ms = optional_number(row.elements[5].text());
                d.claim = row.elements[6].text();
                out.deliveries.push_back(std::move(d));
            }
            out.next_due_at_ms = optional_number(r->elements[1].text());
            const auto& taken = r->elements[2].elements;
            std::int64_t took = 0;
            for (std::size_t i = 0; i + 1 < taken.size(); i += 2) {
                out.taken_over.emplace_back(taken[i].text(), taken[i + 1].number());
                took += taken[i + 1].number();
            }
            if (last != nullptr && took >= static_cast<std::int64_t>(limit)) {
                last->store(0); // every free slot went to abandoned deliveries: more may wait, look again now
            }
            // Made now although this process had seen it before: Redis lost the group.
            const bool created = r->elements[3].text() == "1";
            out.group_recreated = created && seen != nullptr && seen->load();
            if (seen != nullptr) {
                seen->store(true);
            }
            done(std::move(out));
        });
}

void redis_store::complete(std::string subscriber, delivery_outcome o, callback<bool> done)
{
    client_->eval(scripts_->complete,
        {settings_.prefix, subscriber, group, std::to_string(o.seq), o.claim, std::string(to_string(o.state)),
            std::to_string(o.attempts), std::to_string(o.next_attempt_at_ms), std::to_string(o.attempted_at_ms),
            std::to_string(o.last_status), o.last_error},
        [done = std::move(done)](result<redis_reply> r) {
            if (!usable(r, "complete")) {
                done(failure<bool>());
                return;
            }
            done(r->number() == 1);
        });
}

void redis_store::list(std::string subscriber, delivery_state state, std::size_t limit, std::int64_t after_seq,
    callback<std::vector<delivery_row>> done)
{
    if (!knows(subscriber)) {
        done(failure<std::vector<delivery_row>>(error::not_found));
        return;
    }
    client_->eval(scripts_->list,
        {settings_.prefix, subscriber, std::string(to_string(state)), std::to_string(after_seq), std::to_string(limit)},
        [done = std::move(done)](result<redis_reply> r) {
            if (!usable(r, "list")) {
                done(failure<std::vector<delivery_row>>());
                return;
            }
            std::vector<delivery_row> rows;
            for (const auto& x : r->elements) {
                if (x.elements.size() != 9) {
                    continue;
                }
                delivery_row d;
                d.seq = x.elements[0].number();
                d.event_id = x.elements[1].text();
                d.type = x.elements[2].text();
                d.occurred_at_ms = x.elements[3].number();
                d.state = parse_delivery_state(x.elements[4].text()).value_or(delivery_state::pending);
                d.attempts = static_cast<int>(x.elements[5].number());
                if (d.state == delivery_state::pending) {
                    d.next_attempt_at_ms = x.elements[6].number();
                }
                d.last_status = static_cast<int>(x.elements[7].number());
                d.last_error = x.elements[8].text();
                rows.push_back(std::move(d));
            }
            done(std::move(rows));
        });
}

void redis_store::replay(std::string subscriber, std::string event_id, std::int64_t now_ms, callback<std::int64_t> done)
{
    if (!knows(subscriber)) {
        done(failure<std::int64_t>(error::not_found));
        return;
    }
    const bool one = !event_id.empty();
    client_->eval(scripts_->replay,
        {settings_.prefix, subscriber, std::move(event_id), std::to_string(now_ms), std::to_string(replay_batch)},
        [one, done = std::move(done)](result<redis_reply> r) {
            if (!usable(r, "replay")) {
                done(failure<std::int64_t>());
                return;
            }
            const std::int64_t n = r->number();
            if (one && n == 0) {
                done(failure<std::int64_t>(error::not_found));
                return;
            }
            done(n);
        });
}

void redis_store::stats(callback<std::vector<queue_stats>> done)
{
    std::vector<std::string> args{settings_.prefix, group};
    for (const auto& s : subs_) {
        args.push_back(s.name);
    }
    client_->eval(scripts_->stats, std::move(args), [this, done = std::move(done)](result<redis_reply> r) {
        if (!usable(r, "stats") || r->elements.size() != subs_.size()) {
            done(failure<std::vector<queue_stats>>());
            return;
        }
        std::vector<queue_stats> out;
        for (std::size_t i = 0; i < subs_.size(); ++i) {
            const auto& x = r->elements[i].elements;
            if (x.size() != 4) {
                continue;
            }
            queue_stats q;
            q.subscriber = subs_[i].name;
            q.pending = x[0].number();
            q.in_flight = x[1].number();
            q.dead = x[2].number();
            q.oldest_pending_occurred_at_ms = optional_number(x[3].text());
            out.push_back(std::move(q));
        }
        done(std::move(out));
    });
}

void redis_store::calls(call_filter f, callback<call_page> done)
{
    client_->eval(scripts_->calls,
        {settings_.prefix, f.status, f.direction,
            f.before_started_at_ms ? std::to_string(*f.before_started_at_ms) : std::string(), f.before_call_sid,
            std::to_string(f.limit)},
        [done = std::move(done)](result<redis_reply> r) {
            if (!usable(r, "calls") || r->elements.size() < 2) {
                done(failure<call_page>());
                return;
            }
            // {next started, next SID ('' at the end), row, row, ...}
            call_page page;
            if (const std::string next = r->elements[0].text(); !next.empty()) {
                std::int64_t started = 0;
                const auto [end, ec] = std::from_chars(next.data(), next.data() + next.size(), started);
                if (ec != std::errc{} || end != next.data() + next.size()) {
                    done(failure<call_page>());
                    return;
                }
                page.more = call_position{started, r->elements[1].text()};
            }
            for (std::size_t i = 2; i < r->elements.size(); ++i) {
                page.rows.push_back(to_row(to_record(r->elements[i].elements, 0)));
            }
            done(std::move(page));
        });
}

void redis_store::call(std::string call_sid, callback<call_detail> done)
{
    client_->eval(
        scripts_->call, {settings_.prefix, std::move(call_sid)}, [done = std::move(done)](result<redis_reply> r) {
            if (!usable(r, "call")) {
                done(failure<call_detail>());
                return;
            }
            if (r->elements.empty()) {
                done(failure<call_detail>(error::not_found));
                return;
            }
            call_detail d;
            d.call = to_row(to_record(r->elements.front().elements, 0));
            for (std::size_t i = 1; i < r->elements.size(); ++i) {
                d.events.push_back(r->elements[i].text());
            }
            done(std::move(d));
        });
}

void redis_store::totals(std::string also_number, callback<phone_totals> done)
{
    client_->eval(
        scripts_->totals, {settings_.prefix, std::move(also_number)}, [done = std::move(done)](result<redis_reply> r) {
            if (!usable(r, "totals") || r->elements.size() != 2) {
                done(failure<phone_totals>());
                return;
            }
            counters c;
            const auto& flat = r->elements[0].elements;
            for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
                c.emplace(flat[i].text(), flat[i + 1].number());
            }
            phone_totals t = read_totals(c);
            t.numbers = r->elements[1].number();
            done(std::move(t));
        });
}

} // namespace switchboard
