// Awaiting event_store operations from coroutines: the store calls back on its own thread; the
// result is posted to the awaiting coroutine's executor, so the coroutine resumes where it was.
#pragma once

#include "service/http/net.hpp"
#include "service/store/event_store.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>

namespace switchboard {

// co_await store_call<T>([&](event_store::callback<T> done) { store.append(req, std::move(done)); })
template <class T, class Executor = connection_executor, class Start>
net::awaitable<boost::system::result<T>, Executor> store_call(Start start)
{
    using outcome = boost::system::result<T>;
    co_return co_await net::async_initiate<const net::use_awaitable_t<Executor>&, void(outcome)>(
        [](auto completion, Start begin) {
            // The handler is move-only and std::function wants copies: share it.
            auto shared = std::make_shared<decltype(completion)>(std::move(completion));
            begin([shared](outcome r) {
                auto executor = net::get_associated_executor(*shared);
                net::post(executor, [shared, r = std::move(r)]() mutable { std::move (*shared)(std::move(r)); });
            });
        },
        net::use_awaitable_t<Executor>{}, std::move(start));
}

} // namespace switchboard
