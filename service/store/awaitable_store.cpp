// The store's callbacks as awaitables. Each operation hands store_call (service/store/store_await.hpp)
// a start function that owns its arguments; the callback posts the result to the awaiting
// coroutine's executor.
#include "service/store/awaitable_store.hpp"

#include "service/store/store_await.hpp"

namespace switchboard {

template <class T> using done_fn = event_store::callback<T>;

task<store_result<append_result>> event_log::append(append_request req)
{
    return store_call<append_result>([&s = store_, req = std::move(req)](done_fn<append_result> done) mutable {
        s.append(std::move(req), std::move(done));
    });
}

task<store_result<claim_result>> delivery_queue::claim(std::string subscriber, std::size_t limit, std::int64_t now_ms)
{
    return store_call<claim_result>(
        [&s = store_, who = std::move(subscriber), limit, now_ms](
            done_fn<claim_result> done) mutable { s.claim(std::move(who), limit, now_ms, std::move(done)); });
}

task<store_result<bool>> delivery_queue::complete(std::string subscriber, delivery_outcome outcome)
{
    return store_call<bool>(
        [&s = store_, who = std::move(subscriber), o = std::move(outcome)](
            done_fn<bool> done) mutable { s.complete(std::move(who), std::move(o), std::move(done)); });
}

task<store_result<std::vector<delivery_row>>> delivery_queue::list(
    std::string subscriber, delivery_state state, std::size_t limit, std::int64_t after_seq)
{
    using rows = std::vector<delivery_row>;
    return store_call<rows>(
        [&s = store_, who = std::move(subscriber), state, limit, after_seq](
            done_fn<rows> done) mutable { s.list(std::move(who), state, limit, after_seq, std::move(done)); });
}

task<store_result<std::int64_t>> delivery_queue::replay(
    std::string subscriber, std::string event_id, std::int64_t now_ms)
{
    return store_call<std::int64_t>(
        [&s = store_, who = std::move(subscriber), id = std::move(event_id), now_ms](
            done_fn<std::int64_t> done) mutable { s.replay(std::move(who), std::move(id), now_ms, std::move(done)); });
}

task<store_result<std::vector<queue_stats>>> delivery_queue::stats()
{
    using all = std::vector<queue_stats>;
    return store_call<all>([&s = store_](done_fn<all> done) { s.stats(std::move(done)); });
}

task<store_result<subscriber_table>> subscriber_store::load()
{
    return store_call<subscriber_table>(
        [&s = store_](done_fn<subscriber_table> done) { s.subscribers(std::move(done)); });
}

task<store_result<std::int64_t>> subscriber_store::version()
{
    return store_call<std::int64_t>(
        [&s = store_](done_fn<std::int64_t> done) { s.subscribers_version(std::move(done)); });
}

task<store_result<std::int64_t>> subscriber_store::put(std::string name, std::string document, std::int64_t expected)
{
    return store_call<std::int64_t>(
        [&s = store_, name = std::move(name), doc = std::move(document), expected](done_fn<std::int64_t> done) mutable {
            s.put_subscriber(std::move(name), std::move(doc), expected, std::move(done));
        });
}

task<store_result<std::int64_t>> subscriber_store::remove(std::string name, bool force)
{
    return store_call<std::int64_t>([&s = store_, name = std::move(name), force](done_fn<std::int64_t> done) mutable {
        s.remove_subscriber(std::move(name), force, std::move(done));
    });
}

task<store_result<bool>> call_log::record_call(outbound_call call)
{
    return store_call<bool>([&s = store_, c = std::move(call)](
                                done_fn<bool> done) mutable { s.record_call(std::move(c), std::move(done)); });
}

task<store_result<bool>> call_log::record_message(outbound_message message)
{
    return store_call<bool>([&s = store_, m = std::move(message)](
                                done_fn<bool> done) mutable { s.record_message(std::move(m), std::move(done)); });
}

task<store_result<bool>> call_log::record_number(purchased_number number)
{
    return store_call<bool>([&s = store_, n = std::move(number)](
                                done_fn<bool> done) mutable { s.record_number(std::move(n), std::move(done)); });
}

task<store_result<call_page>> call_log::calls(call_filter filter)
{
    return store_call<call_page>([&s = store_, f = std::move(filter)](
                                     done_fn<call_page> done) mutable { s.calls(std::move(f), std::move(done)); });
}

task<store_result<call_detail>> call_log::call(std::string call_sid)
{
    return store_call<call_detail>([&s = store_, sid = std::move(call_sid)](
                                       done_fn<call_detail> done) mutable { s.call(std::move(sid), std::move(done)); });
}

task<store_result<phone_totals>> call_log::totals(std::string also_number)
{
    return store_call<phone_totals>([&s = store_, also = std::move(also_number)](done_fn<phone_totals> done) mutable {
        s.totals(std::move(also), std::move(done));
    });
}

task<store_result<idempotency::decision>> idempotency_keys::begin(
    std::string scope, std::string fingerprint, std::int64_t now_ms, idempotency::policy policy)
{
    return store_call<idempotency::decision>([&s = store_, scope = std::move(scope), fp = std::move(fingerprint),
                                                 now_ms, policy](done_fn<idempotency::decision> done) mutable {
        s.idempotency_begin(std::move(scope), std::move(fp), now_ms, policy, std::move(done));
    });
}

task<store_result<bool>> idempotency_keys::finish(
    std::string scope, idempotency::record begun, std::optional<idempotency::record> result)
{
    return store_call<bool>([&s = store_, scope = std::move(scope), begun = std::move(begun),
                                result = std::move(result)](done_fn<bool> done) mutable {
        s.idempotency_finish(std::move(scope), std::move(begun), std::move(result), std::move(done));
    });
}

task<store_result<store_capacity>> store_health::capacity(std::int64_t now_ms)
{
    return store_call<store_capacity>(
        [&s = store_, now_ms](done_fn<store_capacity> done) { s.capacity(now_ms, std::move(done)); });
}

task<store_result<std::int64_t>> store_health::backup(std::string path)
{
    return store_call<std::int64_t>([&s = store_, p = std::move(path)](done_fn<std::int64_t> done) mutable {
        s.backup(std::move(p), std::move(done));
    });
}

task<store_result<retention::pass>> store_health::retain(retention::cutoffs cut, std::size_t batch)
{
    return store_call<retention::pass>(
        [&s = store_, cut, batch](done_fn<retention::pass> done) { s.retain(cut, batch, std::move(done)); });
}

} // namespace switchboard
