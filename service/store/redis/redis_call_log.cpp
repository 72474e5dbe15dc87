// The Redis store's call log (records written through the operator API, history pages, one
// call, totals) and the operator API's Idempotency-Key records.
#include "service/store/redis/redis_records.hpp"

#include "protocol/core/redis_url.hpp"

namespace switchboard {

using namespace redis_detail;

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

// A SET (refused at maxmemory with noeviction, on a read-only replica), INFO memory, then the
// row counts.
void redis_store::capacity(std::int64_t now_ms, callback<store_capacity> done)
{
    client_->command({"SET", settings_.prefix + "probe", std::to_string(now_ms)},
        [this, done = std::move(done)](result<redis_reply> probe) mutable {
            auto c = std::make_shared<store_capacity>();
            c->writable = probe && !probe->is_error();
            client_->command({"INFO", "memory"}, [this, c, done = std::move(done)](result<redis_reply> info) mutable {
                if (!usable(info, "capacity")) {
                    done(failure<store_capacity>());
                    return;
                }
                const std::string text = info->text();
                c->size_bytes = to_number(redis_info_field(text, "used_memory"));
                c->capacity_bytes = to_number(redis_info_field(text, "maxmemory"));
                c->free_bytes
                    = c->capacity_bytes > 0 ? std::max<std::int64_t>(0, c->capacity_bytes - c->size_bytes) : 0;
                std::vector<std::string> args{settings_.prefix};
                const auto subs = subs_.current();
                for (const auto& s : *subs) {
                    args.push_back(s.name);
                }
                client_->eval(scripts_->capacity, std::move(args), [c, done = std::move(done)](result<redis_reply> r) {
                    if (!usable(r, "capacity") || r->elements.size() != 4) {
                        done(failure<store_capacity>());
                        return;
                    }
                    c->events = r->elements[0].number();
                    c->deliveries = r->elements[1].number();
                    c->calls = r->elements[2].number();
                    c->messages = r->elements[3].number();
                    done(*c);
                });
            });
        });
}

} // namespace switchboard
