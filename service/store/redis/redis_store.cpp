// The Redis event store's event and delivery path: appending events (one versioned write that
// also updates the call or message record), claiming, completing, listing and replaying
// deliveries. The call log and Idempotency-Key records are in redis_call_log.cpp.
#include "service/store/redis/redis_records.hpp"

namespace switchboard {

using namespace redis_detail;

redis_store::redis_store(redis_store_settings settings, std::vector<subscription> subscriptions)
    : settings_(std::move(settings))
    , subs_(std::move(subscriptions))
    , client_(std::make_unique<redis_client>(settings_.connection))
    , scripts_(std::make_unique<scripts>())
    , guesses_(std::make_unique<record_guesses>())
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
    s.capacity = c.add_script(redis_scripts::capacity);
    s.retain = c.add_script(redis_scripts::retain);
    s.subscribers = c.add_script(redis_scripts::subscribers);
    s.put_subscriber = c.add_script(redis_scripts::put_subscriber);
    s.remove_subscriber = c.add_script(redis_scripts::remove_subscriber);
    s.purge_subscriber = c.add_script(redis_scripts::purge_subscriber);
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
    return subs_.knows(subscriber);
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
        const auto subs = subs_.current();
        for (const auto& s : *subs) {
            if (s.receives(ev)) {
                out->subscribers.push_back(s.name);
            }
        }
        args.push_back(std::to_string(out->subscribers.size()));
        for (const auto& s : *subs) { // a per_call subscriber as "+name" (write.lua)
            if (s.receives(ev)) {
                args.push_back(s.per_call ? "+" + s.name : s.name);
            }
        }
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
    // One round trip in the common case: the record as this replica wrote it last (a call's
    // next status callback), or none (its first one, or an event without a record). A wrong
    // guess costs one more: the write script answers it with the record as it is. While most
    // guesses are wrong (record_guesses::worth_guessing), the record is read first.
    if (op->kind.empty() || guesses_->worth_guessing()) {
        planned_write(op, op->kind.empty() ? record{} : guesses_->guess(op->kind + ':' + op->sid));
        return;
    }
    op->replanned = true; // planned from what it read: a conflict now is a real one
    client_->eval(
        scripts_->read, {settings_.prefix, op->kind, op->sid, op->dedupe_key}, [this, op](result<redis_reply> r) {
            if (!usable(r, op->operation) || r->elements.empty()) {
                op->done(failure<std::string>());
                return;
            }
            if (std::string dup = r->elements.front().text(); !dup.empty()) {
                op->done(std::move(dup));
                return;
            }
            planned_write(op, to_record(r->elements, 1));
        });
}

void redis_store::planned_write(std::shared_ptr<write_op> op, record rec)
{
    std::vector<std::string> args{settings_.prefix, op->kind, op->sid, rec.count("ver") ? get(rec, "ver") : "0"};
    op->plan(rec, args);
    // What the record will be once this write is stored: the next write's guess.
    std::optional<record> after;
    if (!op->kind.empty()) {
        after = written_record(std::move(rec), args);
    }
    // A guess is judged by the version check; an event without a record guesses nothing.
    const bool from_guess = !op->replanned && !op->kind.empty();
    client_->eval(scripts_->write, std::move(args),
        [this, op, after = std::move(after), from_guess](result<redis_reply> w) mutable {
            if (!usable(w, op->operation) || w->elements.empty()) {
                op->done(failure<std::string>());
                return;
            }
            const std::string verdict = w->elements.front().text();
            const std::string key = op->kind + ':' + op->sid;
            if (verdict == "conflict") {
                guesses_->forget(key);
                if (from_guess) {
                    guesses_->outcome(false);
                }
                // A wrong guess is not a conflict. Either way the reply holds the record as it is:
                // plan again from it.
                if (from_guess || ++op->conflicts < max_conflicts) {
                    op->replanned = true;
                    planned_write(op, to_record(w->elements, 1));
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
            if (from_guess) {
                guesses_->outcome(true);
            }
            if (after) {
                guesses_->remember(key, std::move(*after));
            }
            op->done(std::string());
        });
}

void redis_store::claim(std::string subscriber, std::size_t limit, std::int64_t now_ms, callback<claim_result> done)
{
    // Deliveries held by a replica that stopped are looked for once a second, not on every claim.
    auto& state = scripts_->claims_of(subscriber);
    std::int64_t last_seen = state.last_reclaim.load();
    const bool reclaim = now_ms - last_seen >= 1000 && state.last_reclaim.compare_exchange_strong(last_seen, now_ms);
    std::atomic<bool>* seen = &state.group_seen;
    client_->eval(scripts_->claim,
        {settings_.prefix, subscriber, group, settings_.consumer, std::to_string(limit), std::to_string(now_ms),
            std::to_string(settings_.reclaim_idle.count()), reclaim ? "1" : "0"},
        [done = std::move(done), seen, limit, last = reclaim ? &state.last_reclaim : nullptr](result<redis_reply> r) {
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
    const auto subs = subs_.current();
    for (const auto& s : *subs) {
        args.push_back(s.name);
    }
    client_->eval(scripts_->stats, std::move(args), [subs, done = std::move(done)](result<redis_reply> r) {
        if (!usable(r, "stats") || r->elements.size() != subs->size()) {
            done(failure<std::vector<queue_stats>>());
            return;
        }
        std::vector<queue_stats> out;
        for (std::size_t i = 0; i < subs->size(); ++i) {
            const auto& x = r->elements[i].elements;
            if (x.size() != 4) {
                continue;
            }
            queue_stats q;
            q.subscriber = (*subs)[i].name;
            q.pending = x[0].number();
            q.in_flight = x[1].number();
            q.dead = x[2].number();
            q.oldest_pending_occurred_at_ms = optional_number(x[3].text());
            out.push_back(std::move(q));
        }
        done(std::move(out));
    });
}

} // namespace switchboard
