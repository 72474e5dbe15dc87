#include "service/store/redis/redis_import.hpp"

#include "protocol/events/store_export.hpp"
#include "service/store/redis/redis_blocking.hpp"
#include "service/store/redis/redis_records.hpp"

#include <algorithm>
#include <fstream>
#include <set>

namespace switchboard {
namespace {

namespace x = store_export;
using args = std::vector<std::string>;

// Reads the file's lines in order, with their numbers; the reason on `problem` when one is not
// a record of the format, when the header or end line is missing, or when the counts differ.
template <class F> bool each_line(const std::string& file, std::string& problem, F&& f)
{
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        problem = "cannot open " + file;
        return false;
    }
    std::string text;
    std::size_t number = 0;
    x::counts seen;
    bool header = false;
    bool ended = false;
    while (std::getline(in, text)) {
        ++number;
        if (ended) {
            problem = "line " + std::to_string(number) + ": after the end line";
            return false;
        }
        std::string why;
        auto l = x::parse_line(text, &why);
        if (!l) {
            problem = "line " + std::to_string(number) + ": " + why;
            return false;
        }
        if (!header && !std::holds_alternative<x::header>(*l)) {
            problem = "line 1: expected the header line";
            return false;
        }
        if (header && std::holds_alternative<x::header>(*l)) {
            problem = "line " + std::to_string(number) + ": a second header";
            return false;
        }
        header = true;
        if (const auto* end = std::get_if<x::counts>(&*l)) {
            if (!(*end == seen)) {
                problem = "line " + std::to_string(number) + ": the end line's counts differ from the file's records";
                return false;
            }
            ended = true;
            continue;
        }
        x::add(seen, *l);
        if (!f(*l)) {
            return false;
        }
    }
    if (in.bad()) {
        problem = "reading " + file + " failed";
        return false;
    }
    if (!ended) {
        problem = "no end line: the file is incomplete (" + std::to_string(number) + " lines)";
        return false;
    }
    return true;
}

class writer {
public:
    writer(blocking_redis& redis, std::string prefix, std::ostream& err)
        : redis_(redis), p_(std::move(prefix)), err_(err)
    {
    }

    void event(const x::event& e)
    {
        const std::string seq = std::to_string(e.seq);
        send({"HSET", p_ + "ev:" + seq, "id", e.id, "type", e.type, "at", std::to_string(e.occurred_at_ms), "payload",
            e.payload, "subject", e.subject, "dk", e.dedupe_key, "left", std::to_string(e.deliveries.size())});
        send({"HSET", p_ + "dedupe", e.dedupe_key, e.id});
        send({"HSET", p_ + "evid", e.id, seq});
        if (!e.subject.empty()) {
            send({"RPUSH", p_ + "subject:" + e.subject, seq});
        }
        for (const auto& d : e.deliveries) {
            // A delivery in flight when the copy was taken is pending again: at least once.
            const bool live = d.state == "pending" || d.state == "in_flight";
            const std::string& s = d.subscriber;
            args h{"HSET", p_ + "d:" + s + ":" + seq, "state", live ? "pending" : d.state, "attempts",
                std::to_string(d.attempts), "next", std::to_string(d.next_attempt_at_ms), "status",
                std::to_string(d.last_status), "error", d.last_error, "entry", ""};
            if (d.first_attempt_at_ms) {
                h.insert(h.end(), {"first", std::to_string(*d.first_attempt_at_ms)});
            }
            if (d.last_attempt_at_ms) {
                h.insert(h.end(), {"last", std::to_string(*d.last_attempt_at_ms)});
            }
            send(h);
            if (live) {
                // Due at its time: the claim script moves due retries into the stream.
                send({"ZADD", p_ + "live:" + s, seq, seq});
                send({"ZADD", p_ + "retry:" + s, std::to_string(d.next_attempt_at_ms), seq});
            } else {
                const std::int64_t finished = d.last_attempt_at_ms.value_or(d.next_attempt_at_ms);
                send({"ZADD", p_ + d.state + ":" + s, seq, seq});
                send({"ZADD", p_ + (d.state == "dead" ? "died_at:" : "delivered_at:") + s, std::to_string(finished),
                    seq});
            }
            if (subscribers_.insert(s).second) {
                send({"SADD", p_ + "subscribers", s});
            }
        }
        max_seq_ = std::max(max_seq_, e.seq);
    }

    void call(const call_record& c)
    {
        send_record("call:" + c.call_sid, redis_detail::to_fields(c));
        // The indexes the write script keeps (redis_scripts.cpp).
        const std::string started = std::to_string(c.started_at_ms);
        send({"ZADD", p_ + "calls", started, c.call_sid});
        send({"ZADD", p_ + "calls:s:" + c.status, started, c.call_sid});
        send({"ZADD", p_ + "calls:d:" + c.direction, started, c.call_sid});
        if (c.direction.rfind("outbound", 0) == 0) {
            send({"ZADD", p_ + "calls:outbound", started, c.call_sid});
        }
    }

    void message(const message_record& m)
    {
        send_record("msg:" + m.message_sid, redis_detail::to_fields(m));
        send({"ZADD", p_ + "msgs", std::to_string(m.created_at_ms), m.message_sid});
    }

    void number(const x::number& n)
    {
        send({"HSET", p_ + "numbers", n.sid, n.phone_number});
        send({"SADD", p_ + "phones", n.phone_number});
        send({"HSET", p_ + "number:" + n.sid, "phone", n.phone_number, "friendly", n.friendly_name, "purchased",
            std::to_string(n.purchased_at_ms)});
    }

    // As redis_subscribers.cpp keeps them; the table's version is set in finish().
    void subscriber(const x::subscriber& s)
    {
        send({"HSET", p_ + "subs", s.name, s.document});
        send({"HSET", p_ + "subs:ver", s.name, std::to_string(s.version)});
        ++stored_subscribers_;
    }

    void totals(const x::totals& t)
    {
        if (t.values.empty()) {
            return;
        }
        args h{"HSET", p_ + "totals"};
        for (const auto& [name, value] : t.values) {
            h.push_back(name);
            h.push_back(std::to_string(value));
        }
        send(h);
    }

    // The event counter last: a service started on the prefix numbers new events after these.
    bool finish()
    {
        if (max_seq_ > 0) {
            send({"SET", p_ + "seq", std::to_string(max_seq_)});
        }
        if (stored_subscribers_ > 0) {
            send({"SET", p_ + "subs:version", std::to_string(stored_subscribers_)});
        }
        return flush();
    }

    bool flush()
    {
        bool ok = ok_;
        for (; queued_ > 0; --queued_) {
            auto r = redis_.reply();
            if (ok && redis_.refused(r, "writing", err_)) {
                ok = false; // the rest of the replies are still read, to keep the connection in step
            }
            if (!r) {
                break;
            }
        }
        queued_ = 0;
        ok_ = ok;
        return ok;
    }

    bool ok() const { return ok_; }

private:
    // A call or message record as the write script leaves it: its fields and version 1.
    void send_record(const std::string& key, redis_detail::fields fields)
    {
        args h{"HSET", p_ + key};
        for (auto& [name, value] : fields) {
            h.push_back(std::move(name));
            h.push_back(std::move(value));
        }
        h.insert(h.end(), {"ver", "1"});
        send(h);
    }

    void send(const args& a)
    {
        redis_.append(a);
        if (++queued_ >= 1000) {
            flush();
        }
    }

    blocking_redis& redis_;
    std::string p_;
    std::ostream& err_;
    std::size_t queued_ = 0;
    bool ok_ = true;
    std::int64_t max_seq_ = 0;
    std::int64_t stored_subscribers_ = 0;
    std::set<std::string> subscribers_;
};

} // namespace

int import_into_redis(const redis_endpoint& endpoint, const std::string& prefix, const std::string& file,
    std::ostream& out, std::ostream& err)
{
    // First the whole file, written nowhere: a truncated or damaged copy leaves Redis untouched.
    std::string problem;
    x::counts counted;
    std::string source;
    if (!each_line(file, problem, [&](const x::line& l) {
            if (const auto* h = std::get_if<x::header>(&l)) {
                source = h->store;
            }
            x::add(counted, l);
            return true;
        })) {
        err << "store import: " << file << ": " << problem << "; nothing was written\n";
        return 1;
    }
    auto redis = blocking_redis::connect(endpoint, "store import", err);
    if (!redis) {
        return 2;
    }
    for (const char* key : {"seq", "evid", "calls", "msgs", "numbers", "totals", "subs"}) {
        auto r = redis->run({"EXISTS", prefix + key});
        if (redis->refused(r, "EXISTS", err)) {
            return 2;
        }
        if (r->type == REDIS_REPLY_INTEGER && r->integer != 0) {
            err << "store import: Redis already holds a store under the prefix '" << prefix << "' (" << prefix << key
                << " exists); import into an empty one (another SWITCHBOARD_REDIS_KEY_PREFIX, or remove its keys)\n";
            return 2;
        }
    }
    writer w(*redis, prefix, err);
    const bool read = each_line(file, problem, [&](const x::line& l) {
        if (const auto* e = std::get_if<x::event>(&l)) {
            w.event(*e);
        } else if (const auto* c = std::get_if<call_record>(&l)) {
            w.call(*c);
        } else if (const auto* m = std::get_if<message_record>(&l)) {
            w.message(*m);
        } else if (const auto* n = std::get_if<x::number>(&l)) {
            w.number(*n);
        } else if (const auto* t = std::get_if<x::totals>(&l)) {
            w.totals(*t);
        } else if (const auto* sub = std::get_if<x::subscriber>(&l)) {
            w.subscriber(*sub);
        }
        return w.ok();
    });
    if (!read) {
        err << "store import: " << file << ": " << (problem.empty() ? "Redis refused a write" : problem)
            << "; the prefix '" << prefix << "' holds part of the file: remove its keys before trying again\n";
        return 2;
    }
    if (!w.finish()) {
        err << "store import: Redis refused a write; the prefix '" << prefix
            << "' holds part of the file: remove its keys before trying again\n";
        return 2;
    }
    out << "imported from " << (source.empty() ? "a store" : source) << " into redis " << endpoint.host << ":"
        << endpoint.port << "/" << endpoint.db << " prefix " << prefix << ": " << counted.events << " events, "
        << counted.deliveries << " deliveries, " << counted.calls << " calls, " << counted.messages << " messages, "
        << counted.numbers << " numbers, " << counted.subscribers << " stored subscribers\n";
    return 0;
}

} // namespace switchboard
