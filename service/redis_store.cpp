// The Redis event store: what each operation sends, and how the call and message records
// change (the same rules as the SQLite store's SQL, applied to the record read just before).
#include "service/redis_store.hpp"

#include "protocol/phone_api.hpp"

#include "protocol/error.hpp"
#include "protocol/sms.hpp"
#include "service/log.hpp"
#include "service/redis_scripts.hpp"

#include <charconv>
#include <map>
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

// What one call or message record adds to the running totals (P totals), `sign` times: per
// (status, direction) the call, whether it has a duration, the duration and the minutes Twilio
// bills for it (phone_api::billed_minutes, the one rule); per direction the messages sent or
// received. The write script only applies differences of these.
void add_totals(std::map<std::string, std::int64_t>& out, std::string_view kind, const record& r, int sign)
{
    if (kind == "call") {
        const std::string key = get(r, "status") + "\n" + get(r, "direction");
        out["c\n" + key] += sign;
        if (const auto d = optional_number(get(r, "duration"))) {
            out["t\n" + key] += sign;
            out["d\n" + key] += sign * *d;
            out["b\n" + key] += sign * phone_api::billed_minutes(*d);
        }
    } else if (kind == "msg") {
        const std::string& direction = get(r, "direction");
        if (direction.starts_with("outbound")) {
            out["sms_sent"] += sign;
        } else if (direction == "inbound") {
            out["sms_received"] += sign;
        }
    }
}

// Inserts the totals change of a write after its field pairs (args: P, kind, sid, version, n,
// n pairs, ...): the record as read at that version against the same record with the pairs
// applied. The version check in the script makes the difference exact.
void insert_totals(std::string_view kind, const record& before, std::vector<std::string>& args)
{
    const auto n = static_cast<std::size_t>(to_number(args.at(4)));
    const auto pairs_end = args.begin() + static_cast<std::ptrdiff_t>(5 + 2 * n);
    std::map<std::string, std::int64_t> delta;
    if (!kind.empty()) {
        record after = before;
        for (auto it = args.begin() + 5; it != pairs_end; it += 2) {
            after[*it] = *(it + 1);
        }
        if (before.count("ver") > 0) {
            add_totals(delta, kind, before, -1);
        }
        add_totals(delta, kind, after, 1);
    }
    std::vector<std::string> totals;
    for (const auto& [field, change] : delta) {
        if (change != 0) {
            totals.push_back(field);
            totals.push_back(std::to_string(change));
        }
    }
    totals.insert(totals.begin(), std::to_string(totals.size() / 2));
    args.insert(pairs_end, totals.begin(), totals.end());
}

// Sets `name` only where the record has nothing yet (the SQL's iif(x = '', ?, x)).
void fill(fields& f, const record& r, const char* name, const std::string& value)
{
    if (get(r, name).empty() && !value.empty()) {
        f.emplace_back(name, value);
    }
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

// The call record after a status callback (sqlite_store.cpp: apply_call_update).
fields call_update_change(const record& rec, const call_status_update& u, call_event& e, append_result& r)
{
    const bool exists = rec.count("ver") > 0;
    call_record state;
    if (exists) {
        e.previous_status = get(rec, "status");
        state.status = parse_call_status(e.previous_status);
        state.last_sequence = to_number(get(rec, "last_sequence"), -1);
        state.duration_seconds = optional_number(get(rec, "duration"));
        e.agent_name = get(rec, "agent");
        e.call_purpose = get(rec, "purpose");
        e.workflow_id = get(rec, "workflow");
    }
    r.applied = apply(state, u);
    const bool applied = *r.applied == apply_result::applied;
    e.current_status = state.status == call_status::other ? e.previous_status : std::string(to_string(state.status));
    r.current_status = e.current_status;
    // Built in two steps: GCC 12 reports the ternary's empty optional as maybe-uninitialized.
    std::optional<std::int64_t> ended;
    if (applied && is_terminal(state.status)) {
        ended = e.occurred_at_ms;
    }
    const std::string at = std::to_string(e.occurred_at_ms);
    fields f{{"status", e.current_status}, {"last_sequence", std::to_string(state.last_sequence)},
        {"duration", optional_text(state.duration_seconds)}, {"updated", at}};
    if (!exists) {
        f.insert(f.end(),
            {{"account", u.account_sid}, {"from", u.from}, {"to", u.to}, {"direction", u.direction}, {"started", at},
                {"ended", optional_text(ended)}});
        return f;
    }
    fill(f, rec, "ended", optional_text(ended));
    fill(f, rec, "account", u.account_sid);
    fill(f, rec, "from", u.from);
    fill(f, rec, "to", u.to);
    fill(f, rec, "direction", u.direction);
    return f;
}

// Menu choices and voicemails (sqlite_store.cpp: record_menu_choice).
fields menu_choice_change(const record& rec, call_event& e, append_result& r)
{
    const bool exists = rec.count("ver") > 0;
    const std::string choice = e.type != event_type::call_menu_selected ? std::string()
        : e.digits.empty()                                              ? e.choice
                                                                        : e.digits;
    const std::string at = std::to_string(e.occurred_at_ms);
    e.previous_status = get(rec, "status");
    e.current_status = e.previous_status;
    r.current_status = e.current_status;
    e.agent_name = get(rec, "agent");
    e.call_purpose = get(rec, "purpose");
    e.workflow_id = get(rec, "workflow");
    if (!exists) {
        return {{"account", e.account_sid}, {"from", e.from}, {"to", e.to}, {"direction", e.direction}, {"status", ""},
            {"started", at}, {"updated", at}, {"menu", choice}};
    }
    fields f{{"updated", at}};
    if (!choice.empty()) {
        const std::string& menu = get(rec, "menu");
        f.emplace_back("menu", menu.empty() ? choice : menu + "," + choice);
    }
    return f;
}

// Inbound messages and message status callbacks (sqlite_store.cpp: record_message).
fields message_change(const record& rec, call_event& e, append_result& r)
{
    const bool exists = rec.count("ver") > 0;
    if (exists) {
        e.previous_status = get(rec, "status");
        e.agent_name = get(rec, "agent");
    }
    // A terminal status stays unless the message moves on to "read" (delivered → read).
    const bool keep = exists && is_terminal_sms_status(e.previous_status) && e.status != "read";
    e.current_status = keep ? e.previous_status : e.status;
    r.current_status = e.current_status;
    const std::string at = std::to_string(e.occurred_at_ms);
    if (!exists) {
        return {{"account", e.account_sid}, {"from", e.from}, {"to", e.to}, {"direction", e.direction},
            {"status", e.current_status}, {"body", e.body}, {"num_media", optional_text(e.num_media)},
            {"error", e.error_code}, {"created", at}, {"updated", at}};
    }
    fields f{{"status", e.current_status}, {"updated", at}};
    if (!e.error_code.empty()) {
        f.emplace_back("error", e.error_code);
    }
    fill(f, rec, "body", e.body);
    return f;
}

call_row to_call_row(const record& r)
{
    call_row c;
    c.call_sid = get(r, "sid");
    c.account_sid = get(r, "account");
    c.from = get(r, "from");
    c.to = get(r, "to");
    c.direction = get(r, "direction");
    c.status = get(r, "status");
    c.duration_seconds = optional_number(get(r, "duration"));
    c.started_at_ms = to_number(get(r, "started"));
    c.ended_at_ms = optional_number(get(r, "ended"));
    c.updated_at_ms = to_number(get(r, "updated"));
    std::string_view menu = get(r, "menu");
    while (!menu.empty()) {
        const std::size_t comma = menu.find(',');
        c.menu_selections.emplace_back(menu.substr(0, comma));
        menu = comma == std::string_view::npos ? std::string_view{} : menu.substr(comma + 1);
    }
    c.agent_name = get(r, "agent");
    c.call_purpose = get(r, "purpose");
    c.workflow_id = get(r, "workflow");
    return c;
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
    std::function<void(const record&, std::vector<std::string>& args)> plan;
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
    switch (e.type) {
    case event_type::call_status_changed:
        if (req.call_update) {
            op->kind = "call";
            op->sid = req.call_update->call_sid;
        }
        break;
    case event_type::call_menu_selected:
    case event_type::call_voicemail:
    case event_type::call_assistant_ended:
        op->kind = "call";
        op->sid = e.call_sid;
        break;
    case event_type::sms_received:
    case event_type::sms_status_changed:
        op->kind = "msg";
        op->sid = e.message_sid;
        break;
    }
    if (op->sid.empty()) {
        op->kind.clear();
    }
    op->dedupe_key = req.dedupe_key;
    // What the latest plan computed: the result once the write that carried it is stored.
    auto out = std::make_shared<append_result>();
    op->plan = [this, req = std::move(req), out, has_record = !op->kind.empty()](
                   const record& rec, std::vector<std::string>& args) {
        *out = append_result{};
        call_event ev = req.event;
        fields change;
        switch (ev.type) {
        case event_type::call_status_changed:
            if (req.call_update) {
                change = call_update_change(rec, *req.call_update, ev, *out);
            }
            break;
        case event_type::call_menu_selected:
        case event_type::call_voicemail:
        case event_type::call_assistant_ended:
            change = menu_choice_change(rec, ev, *out);
            break;
        case event_type::sms_received:
        case event_type::sms_status_changed:
            change = message_change(rec, ev, *out);
            break;
        }
        if (!has_record) {
            change.clear();
        }
        args.push_back(std::to_string(change.size()));
        for (auto& [name, value] : change) {
            args.push_back(std::move(name));
            args.push_back(std::move(value));
        }
        args.insert(args.end(),
            {req.dedupe_key, ev.id, std::string(to_string(ev.type)), std::to_string(ev.occurred_at_ms), to_json(ev),
                ev.call_sid.empty() ? ev.message_sid : ev.call_sid});
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
            insert_totals(op->kind, rec, args);
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

void redis_store::upsert(
    std::string kind, std::string sid, std::function<fields(const record&)> change, callback<bool> done)
{
    auto op = std::make_shared<write_op>();
    op->operation = "record";
    op->kind = std::move(kind);
    op->sid = std::move(sid);
    op->plan = [change = std::move(change)](const record& rec, std::vector<std::string>& args) {
        fields f = change(rec);
        args.push_back(std::to_string(f.size()));
        for (auto& [name, value] : f) {
            args.push_back(std::move(name));
            args.push_back(std::move(value));
        }
    };
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
    auto change = [c = std::move(c)](const record& rec) -> fields {
        // A status callback may have created the record already: keep its status and times.
        if (!rec.count("ver")) {
            const std::string at = std::to_string(c.created_at_ms);
            return {{"account", c.account_sid}, {"from", c.from}, {"to", c.to}, {"direction", "outbound-api"},
                {"status", c.status}, {"started", at}, {"updated", at}, {"agent", c.agent_name},
                {"purpose", c.call_purpose}, {"workflow", c.workflow_id}};
        }
        fields f{{"agent", c.agent_name}, {"purpose", c.call_purpose}, {"workflow", c.workflow_id}};
        fill(f, rec, "account", c.account_sid);
        fill(f, rec, "from", c.from);
        fill(f, rec, "to", c.to);
        fill(f, rec, "direction", "outbound-api");
        fill(f, rec, "status", c.status);
        return f;
    };
    upsert("call", std::move(sid), std::move(change), std::move(done));
}

void redis_store::record_message(outbound_message m, callback<bool> done)
{
    std::string sid = m.message_sid;
    auto change = [m = std::move(m)](const record& rec) -> fields {
        if (!rec.count("ver")) {
            const std::string at = std::to_string(m.created_at_ms);
            return {{"account", m.account_sid}, {"from", m.from}, {"to", m.to}, {"direction", "outbound-api"},
                {"status", m.status}, {"body", m.body}, {"created", at}, {"updated", at}, {"agent", m.agent_name}};
        }
        fields f{{"agent", m.agent_name}};
        fill(f, rec, "body", m.body);
        fill(f, rec, "account", m.account_sid);
        fill(f, rec, "from", m.from);
        fill(f, rec, "to", m.to);
        fill(f, rec, "direction", "outbound-api");
        fill(f, rec, "status", m.status);
        return f;
    };
    upsert("msg", std::move(sid), std::move(change), std::move(done));
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
                page.rows.push_back(to_call_row(to_record(r->elements[i].elements, 0)));
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
            d.call = to_call_row(to_record(r->elements.front().elements, 0));
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
            phone_totals t;
            std::map<std::pair<std::string, std::string>, call_totals> groups;
            const auto& flat = r->elements[0].elements;
            for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
                const std::string name = flat[i].text();
                const std::int64_t value = flat[i + 1].number();
                if (name == "sms_sent") {
                    t.sms_sent = value;
                    continue;
                }
                if (name == "sms_received") {
                    t.sms_received = value;
                    continue;
                }
                // "<c|t|d|b>\n<status>\n<direction>"
                const auto first = name.find('\n');
                const auto second = name.find('\n', first + 1);
                if (first != 1 || second == std::string::npos) {
                    continue;
                }
                auto& g = groups[{name.substr(2, second - 2), name.substr(second + 1)}];
                switch (name[0]) {
                case 'c':
                    g.calls = value;
                    break;
                case 't':
                    g.timed = value;
                    break;
                case 'd':
                    g.duration_seconds = value;
                    break;
                case 'b':
                    g.billed_minutes = value;
                    break;
                default:
                    break;
                }
            }
            for (auto& [key, g] : groups) {
                if (g.calls > 0) {
                    g.status = key.first;
                    g.direction = key.second;
                    t.calls.push_back(std::move(g));
                }
            }
            t.numbers = r->elements[1].number();
            done(std::move(t));
        });
}

} // namespace switchboard
