// The Redis connection: one thread, one socket, a write queue and a FIFO of reply callbacks.
// One file because it is the Redis connection's Asio template code (connect, handshake, read
// and write loops, timeouts) and keeps those templates in one translation unit.
#include "service/client/redis_client.hpp"

#include "protocol/core/crypto.hpp"
#include "protocol/core/error.hpp"
#include "service/http/net.hpp"
#include "service/ops/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <hiredis/hiredis.h>

#include <array>
#include <charconv>
#include <deque>
#include <thread>

namespace switchboard {
namespace {

using tcp = net::ip::tcp;
using clock = std::chrono::steady_clock;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

redis_reply convert(const redisReply* r)
{
    redis_reply out;
    switch (r->type) {
    case REDIS_REPLY_STRING:
        out.type = redis_reply::kind::string;
        out.str.assign(r->str, r->len);
        break;
    case REDIS_REPLY_STATUS:
        out.type = redis_reply::kind::status;
        out.str.assign(r->str, r->len);
        break;
    case REDIS_REPLY_ERROR:
        out.type = redis_reply::kind::error;
        out.str.assign(r->str, r->len);
        break;
    case REDIS_REPLY_INTEGER:
        out.type = redis_reply::kind::integer;
        out.integer = r->integer;
        break;
    case REDIS_REPLY_ARRAY:
        out.type = redis_reply::kind::array;
        out.elements.reserve(r->elements);
        for (std::size_t i = 0; i < r->elements; ++i) {
            out.elements.push_back(convert(r->element[i]));
        }
        break;
    default:
        out.type = redis_reply::kind::nil;
        break;
    }
    return out;
}

std::string format(const std::vector<std::string>& args)
{
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    char* raw = nullptr;
    const int n = redisFormatCommandArgv(&raw, static_cast<int>(args.size()), argv.data(), lengths.data());
    if (n < 0 || raw == nullptr) {
        throw std::bad_alloc();
    }
    std::string out(raw, static_cast<std::size_t>(n));
    redisFreeCommand(raw);
    return out;
}

boost::system::result<redis_reply> unavailable()
{
    return {boost::system::in_place_error, make_error_code(error::store_unavailable)};
}

} // namespace

std::string redis_reply::text() const
{
    if (type == kind::integer) {
        return std::to_string(integer);
    }
    return str;
}

std::int64_t redis_reply::number(std::int64_t fallback) const
{
    if (type == kind::integer) {
        return integer;
    }
    if (type != kind::string || str.empty()) {
        return fallback;
    }
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(str.data(), str.data() + str.size(), n);
    return ec == std::errc{} && end == str.data() + str.size() ? n : fallback;
}

struct redis_client::impl {
    explicit impl(redis_settings s) : settings(std::move(s)) { }

    const redis_settings settings;
    net::io_context ioc{1};
    net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
    tcp::socket socket{ioc};
    net::steady_timer retry{ioc};
    net::steady_timer watchdog{ioc};
    std::thread thread;
    std::atomic<bool> up{false};
    std::atomic<bool> stopped{false};
    struct script {
        std::string source;
        std::string sha;
    };
    std::vector<script> scripts; // fixed before start()
    std::function<void(bool, const std::string&)> observer;

    // Client-thread state.
    enum class phase { down, handshake, up, stopping };
    phase state = phase::down;
    std::uint64_t generation = 0; // one per connection attempt: stale completions see a newer one
    std::string outbox;
    bool writing = false;
    struct waiting {
        handler done;
        clock::time_point sent;
    };
    std::deque<waiting> replies;
    std::unique_ptr<redisReader, decltype(&redisReaderFree)> reader{nullptr, &redisReaderFree};
    std::chrono::milliseconds backoff{100};
    std::string last_failure;
    clock::time_point last_failure_logged{};

    // On the client thread: queue one formatted command.
    void send(std::string wire, handler done)
    {
        outbox += wire;
        replies.push_back({std::move(done), clock::now()});
        flush();
    }

    void flush()
    {
        if (writing || outbox.empty()) {
            return;
        }
        writing = true;
        auto buffer = std::make_shared<std::string>();
        buffer->swap(outbox);
        net::async_write(
            socket, net::buffer(*buffer), [this, buffer, gen = generation](boost::system::error_code ec, std::size_t) {
                if (gen != generation) {
                    return;
                }
                writing = false;
                if (ec) {
                    drop("write to Redis failed: " + ec.message());
                    return;
                }
                flush();
            });
    }

    // The connection is unusable: fail everything waiting on it and reconnect after a pause.
    void drop(const std::string& why)
    {
        const bool was_up = state == phase::up;
        ++generation;
        boost::system::error_code ignored;
        socket.close(ignored);
        outbox.clear();
        writing = false;
        reader.reset();
        up = false;
        auto failed = std::move(replies);
        replies.clear();
        if (state != phase::stopping) {
            state = phase::down;
        }
        for (auto& w : failed) {
            w.done(unavailable());
        }
        if (was_up) {
            log::line(
                log::level::error, "Redis connection lost; webhooks that need the store answer 503 until it is back")
                .str("redis", redacted(settings.endpoint))
                .str("error", why)
                .emit();
            if (observer) {
                observer(false, why);
            }
        } else if (state != phase::stopping) {
            // Repeated failures while down: log when the reason changes, else every 30 s.
            const auto now = clock::now();
            if (why != last_failure || now - last_failure_logged > std::chrono::seconds(30)) {
                log::line(log::level::error, "cannot connect to Redis; retrying")
                    .str("redis", redacted(settings.endpoint))
                    .str("error", why)
                    .emit();
                last_failure = why;
                last_failure_logged = now;
            }
            if (observer) {
                observer(false, why);
            }
        }
        if (state == phase::stopping) {
            return;
        }
        const auto pause = was_up ? std::chrono::milliseconds(100) : backoff;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2'000));
        retry.expires_after(pause);
        retry.async_wait([this](boost::system::error_code ec) {
            if (!ec && state == phase::down) {
                connect();
            }
        });
    }

    void connect()
    {
        state = phase::handshake;
        net::co_spawn(ioc, attempt(++generation), log::on_failure("Redis connection attempt failed"));
    }

    // One command during the handshake, awaited.
    net::awaitable<boost::system::result<redis_reply>> ask(std::vector<std::string> args)
    {
        using outcome = boost::system::result<redis_reply>;
        co_return co_await net::async_initiate<const net::use_awaitable_t<>&, void(outcome)>(
            [this](auto completion, std::vector<std::string> a) {
                auto shared = std::make_shared<decltype(completion)>(std::move(completion));
                send(format(a), [shared](outcome r) { std::move (*shared)(std::move(r)); });
            },
            net::use_awaitable, std::move(args));
    }

    net::awaitable<void> attempt(std::uint64_t gen)
    {
        const auto failed = [&](const std::string& why) {
            if (gen == generation && state == phase::handshake) {
                drop(why);
            }
        };
        // The deadline covers resolve, connect and the handshake's replies.
        auto deadline = std::make_shared<net::steady_timer>(ioc, settings.connect_timeout);
        deadline->async_wait([this, gen](boost::system::error_code ec) {
            if (!ec && gen == generation && state == phase::handshake) {
                drop("no connection within " + std::to_string(settings.connect_timeout.count()) + " ms");
            }
        });
        tcp::resolver resolver(ioc);
        auto [rec, endpoints] = co_await resolver.async_resolve(
            settings.endpoint.host, std::to_string(settings.endpoint.port), use_tuple);
        if (gen != generation) {
            co_return;
        }
        if (rec) {
            failed("cannot resolve " + settings.endpoint.host + ": " + rec.message());
            co_return;
        }
        auto [cec, ep] = co_await net::async_connect(socket, endpoints, use_tuple);
        if (gen != generation) {
            co_return;
        }
        if (cec) {
            failed("connect failed: " + cec.message());
            co_return;
        }
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        socket.set_option(net::socket_base::keep_alive(true), ignored);
        reader.reset(redisReaderCreate());
        net::co_spawn(ioc, read_loop(gen), log::on_failure("Redis reader failed"));

        std::vector<std::vector<std::string>> hello;
        const auto& e = settings.endpoint;
        if (!e.password.empty()) {
            hello.push_back(e.username.empty() ? std::vector<std::string>{"AUTH", e.password}
                                               : std::vector<std::string>{"AUTH", e.username, e.password});
        }
        if (e.db != 0) {
            hello.push_back({"SELECT", std::to_string(e.db)});
        }
        hello.push_back({"CLIENT", "SETNAME", "switchboard"});
        for (const auto& s : scripts) {
            hello.push_back({"SCRIPT", "LOAD", s.source});
        }
        hello.push_back({"INFO", "persistence"});
        for (auto& cmd : hello) {
            const std::string name = cmd.front() == "SCRIPT" ? "SCRIPT LOAD" : cmd.front();
            auto r = co_await ask(std::move(cmd));
            if (gen != generation) {
                co_return;
            }
            if (!r) {
                failed("the connection broke during " + name);
                co_return;
            }
            if (r->is_error()) {
                failed(name + " refused: " + r->str);
                co_return;
            }
            if (name == "INFO" && r->str.find("aof_enabled:1") == std::string::npos) {
                log::line(log::level::warn,
                    "Redis runs without the append-only file: events accepted just before a Redis restart can be "
                    "lost; enable appendonly yes")
                    .str("redis", redacted(settings.endpoint))
                    .emit();
            }
        }
        deadline->cancel();
        state = phase::up;
        up = true;
        backoff = std::chrono::milliseconds(100);
        last_failure.clear();
        log::line(log::level::info, "connected to Redis").str("redis", redacted(settings.endpoint)).emit();
        if (observer) {
            observer(true, {});
        }
    }

    net::awaitable<void> read_loop(std::uint64_t gen)
    {
        std::array<char, 64 * 1024> buffer;
        for (;;) {
            auto [ec, n] = co_await socket.async_read_some(net::buffer(buffer), use_tuple);
            if (gen != generation) {
                co_return;
            }
            if (ec) {
                drop(ec == net::error::eof ? std::string("Redis closed the connection")
                                           : "read failed: " + ec.message());
                co_return;
            }
            if (redisReaderFeed(reader.get(), buffer.data(), n) != REDIS_OK) {
                drop("cannot buffer Redis' reply");
                co_return;
            }
            for (;;) {
                void* raw = nullptr;
                if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK) {
                    drop(std::string("malformed reply from Redis: ") + reader->errstr);
                    co_return;
                }
                if (raw == nullptr) {
                    break;
                }
                redis_reply r = convert(static_cast<redisReply*>(raw));
                freeReplyObject(raw);
                if (replies.empty()) {
                    drop("a reply nobody asked for");
                    co_return;
                }
                auto w = std::move(replies.front());
                replies.pop_front();
                w.done(std::move(r));
                if (gen != generation) {
                    co_return; // the callback stopped the client
                }
            }
        }
    }

    // A command that waits too long means a hung server or a silent network: reconnect.
    void watch()
    {
        watchdog.expires_after(std::chrono::milliseconds(250));
        watchdog.async_wait([this](boost::system::error_code ec) {
            if (ec || state == phase::stopping) {
                return;
            }
            if (state == phase::up && !replies.empty()
                && clock::now() - replies.front().sent > settings.command_timeout) {
                drop("no reply within " + std::to_string(settings.command_timeout.count()) + " ms");
            }
            watch();
        });
    }
};

redis_client::redis_client(redis_settings settings) : impl_(std::make_shared<impl>(std::move(settings))) { }

redis_client::~redis_client()
{
    stop();
}

std::size_t redis_client::add_script(std::string source)
{
    const std::string sha = crypto::hex_lower(crypto::sha1(source));
    for (std::size_t i = 0; i < impl_->scripts.size(); ++i) {
        if (impl_->scripts[i].sha == sha) { // the same script for several users (rate buckets): loaded once
            return i;
        }
    }
    impl_->scripts.push_back({std::move(source), sha});
    return impl_->scripts.size() - 1;
}

void redis_client::on_state(std::function<void(bool, const std::string&)> observer)
{
    impl_->observer = std::move(observer);
}

void redis_client::start()
{
    net::post(impl_->ioc, [i = impl_.get()] {
        i->connect();
        i->watch();
    });
    impl_->thread = std::thread([i = impl_.get()] { i->ioc.run(); });
}

void redis_client::stop()
{
    if (!impl_ || impl_->stopped.exchange(true)) {
        return;
    }
    net::post(impl_->ioc, [i = impl_.get()] {
        i->state = impl::phase::stopping;
        i->drop("stopping");
        i->retry.cancel();
        i->watchdog.cancel();
        i->work.reset();
    });
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
    // Whatever was posted after the last turn: run it, so every callback is called once.
    impl_->ioc.restart();
    impl_->ioc.poll();
}

bool redis_client::connected() const noexcept
{
    return impl_->up.load(std::memory_order_acquire);
}

void redis_client::command(const std::vector<std::string>& args, handler done)
{
    if (impl_->stopped.load()) {
        done(unavailable());
        return;
    }
    net::post(impl_->ioc, [i = impl_.get(), wire = format(args), done = std::move(done)]() mutable {
        if (i->state != impl::phase::up) {
            done(unavailable());
            return;
        }
        i->send(std::move(wire), std::move(done));
    });
}

void redis_client::eval(std::size_t script, std::vector<std::string> args, handler done)
{
    const auto& s = impl_->scripts.at(script);
    auto call = std::make_shared<std::vector<std::string>>();
    call->reserve(args.size() + 3);
    call->push_back("EVALSHA");
    call->push_back(s.sha);
    call->push_back("0");
    for (auto& a : args) {
        call->push_back(std::move(a));
    }
    command(*call, [this, call, script, done = std::move(done)](boost::system::result<redis_reply> r) mutable {
        if (r && r->is_error() && r->str.rfind("NOSCRIPT", 0) == 0) {
            // The server's script cache was flushed since we connected: send the source.
            (*call)[0] = "EVAL";
            (*call)[1] = impl_->scripts[script].source;
            command(*call, std::move(done));
            return;
        }
        done(std::move(r));
    });
}

} // namespace switchboard
