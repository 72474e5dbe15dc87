// Connection coroutines: read with deadlines and limits, dispatch, write, keep-alive, drain.
// One file because it is the connection's Beast/Asio template code (plain and TLS streams share
// one coroutine): each translation unit of it costs ~26 s and ~0.8 GiB to compile.
#include "service/http/listener.hpp"

#include "protocol/auth/forwarded.hpp"
#include "protocol/core/crypto.hpp"
#include "service/app/config.hpp"
#include "service/http/request_reader.hpp"
#include "service/http/router.hpp"
#include "service/http/tls.hpp"
#include "service/ops/log.hpp"
#include "service/ops/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <atomic>
#include <cstdio>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>

namespace switchboard {

using stream_type = beast::basic_stream<net::ip::tcp, connection_executor>;

struct connection_registry::entry {
    explicit entry(connection_executor ex) : executor(std::move(ex)) { }
    connection_executor executor;
    stream_type* stream = nullptr;
    std::string client; // client_key of the peer
    bool exempt = false; // a trusted proxy: not subject to the per-client cap
    // Waiting for the first byte of a (next) request: written on the strand, read by the
    // registry from other threads.
    std::atomic<bool> idle{false};
    // Registry-owned (under its mutex).
    std::uint64_t id = 0;
    bool pending = false; // counted against its client's cap
};

namespace {

using tcp = net::ip::tcp;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable_t<connection_executor>{});
using clock = std::chrono::steady_clock;

std::string make_request_id()
{
    // A per-process random prefix and a counter: unique, cheap, and not guessable across restarts.
    static const std::string prefix = [] {
        const std::string r = crypto::random_bytes(4);
        return crypto::hex_lower(reinterpret_cast<const unsigned char*>(r.data()), r.size());
    }();
    static std::atomic<std::uint64_t> counter{0};
    char buf[24];
    const int n = std::snprintf(
        buf, sizeof buf, "-%012llx", static_cast<unsigned long long>(counter.fetch_add(1, std::memory_order_relaxed)));
    return prefix + std::string(buf, static_cast<std::size_t>(n));
}

bool is_sane_request_id(std::string_view id) noexcept
{
    if (id.empty() || id.size() > 64) {
        return false;
    }
    for (const char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
            || c == '_' || c == '.';
        if (!ok) {
            return false;
        }
    }
    return true;
}

// A read failure that deserves an answer before closing; nullopt: just close.
std::optional<http::status> status_for_read_error(const boost::system::error_code& ec)
{
    if (ec == http::error::body_limit) {
        return http::status::payload_too_large;
    }
    if (ec == http::error::header_limit) {
        return http::status::request_header_fields_too_large;
    }
    const boost::system::error_code http_error = http::error::end_of_stream;
    if (ec.category() == http_error.category() && ec != http::error::end_of_stream
        && ec != http::error::partial_message) {
        return http::status::bad_request;
    }
    return std::nullopt;
}

std::string_view code_for(http::status s)
{
    switch (s) {
    case http::status::payload_too_large:
        return "body_too_large";
    case http::status::request_header_fields_too_large:
        return "headers_too_large";
    default:
        return "bad_request";
    }
}

void access_log(const request_context& ctx, std::string_view method, unsigned status, double seconds)
{
    log::line l(log::level::info, "request");
    l.str("request_id", ctx.request_id)
        .str("method", method)
        .str("path", ctx.path)
        .str("route", ctx.route)
        .num("status", status)
        .real("latency_ms", seconds * 1000.0)
        .str("client", ctx.client);
    if (!ctx.log.call_sid.empty()) {
        l.str("call_sid", ctx.log.call_sid);
    }
    l.phone("from", ctx.log.from).phone("to", ctx.log.to);
    if (!ctx.log.digits.empty()) {
        l.str("digits", ctx.log.digits);
    }
    if (!ctx.log.call_status.empty()) {
        l.str("call_status", ctx.log.call_status);
    }
    if (ctx.log.duration_seconds) {
        l.num("duration_seconds", *ctx.log.duration_seconds);
    }
    if (ctx.log.sequence_number) {
        l.num("sequence_number", *ctx.log.sequence_number);
    }
    if (!ctx.log.message_sid.empty()) {
        l.str("message_sid", ctx.log.message_sid);
    }
    if (!ctx.log.subject.empty()) {
        l.str("subject", ctx.log.subject);
    }
    if (!ctx.log.event_id.empty()) {
        l.str("event_id", ctx.log.event_id);
    }
    l.emit();
}

class session {
public:
    session(listener_deps& d, connection_registry::entry& e, std::string peer, bool tls)
        : d_(d), entry_(e), peer_(std::move(peer)), tls_(tls), limits_{d.cfg.header_limit, d.cfg.body_limit}
    {
    }

    template <class Stream> task<void> run(Stream& stream)
    {
        beast::flat_buffer buffer;
        for (bool first = true;; first = false) {
            request_parser parser;
            configure(parser, limits_);
            std::optional<http_response> refused;
            const auto ec = co_await read_request(stream, buffer, parser, first, refused);
            const auto start = clock::now();
            if (refused) {
                // The headers alone were refused (Expect: 100-continue): the body was never read.
                co_await answer_refused(stream, parser.get(), std::move(*refused), start);
                co_return;
            }
            if (ec) {
                if (const auto status = status_for_read_error(ec)) {
                    co_await answer_error(stream, *status);
                }
                co_return;
            }
            if (!co_await handle(stream, parser.get(), start)) {
                co_return;
            }
        }
    }

private:
    // Parses what is buffered and reads only when the parser needs more: a request that
    // arrived in one segment costs one read and no extra scheduling. Every limit on what a
    // client may send before its request is complete is applied by feed().
    template <class Stream>
    task<boost::system::error_code> read_request(Stream& stream, beast::flat_buffer& buffer, request_parser& parser,
        bool first, std::optional<http_response>& refused)
    {
        stream_type& lowest = beast::get_lowest_layer(stream);
        clock::time_point deadline{};
        bool continued = false;
        for (;;) {
            boost::system::error_code ec;
            if (feed(parser, buffer, limits_, ec) == read_state::done) {
                co_return ec;
            }
            if (ec) {
                co_return ec;
            }
            const bool idle = buffer.size() == 0 && !parser.got_some();
            if (!idle && deadline == clock::time_point{}) {
                // The whole request must arrive within the read timeout of its first byte.
                deadline = clock::now() + d_.cfg.read_timeout;
            }
            if (parser.is_header_done() && !continued && wants_continue(parser)) {
                continued = true;
                // Invite the body only once the route and its policy accept the headers.
                http_request& req = parser.get();
                request_context ctx = context_for(req);
                refused = co_await d_.routes.precheck(ctx);
                if (refused) {
                    co_return ec;
                }
                static constexpr std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
                lowest.expires_after(d_.cfg.write_timeout);
                auto [wec, wn] = co_await net::async_write(stream, net::buffer(interim), use_tuple);
                if (wec) {
                    co_return wec;
                }
            }
            if (idle) {
                // Between requests: draining may close us here without losing a request.
                if (d_.draining.load()) {
                    co_return http::error::end_of_stream;
                }
                lowest.expires_after(first ? d_.cfg.first_byte_timeout : d_.cfg.idle_timeout);
            } else {
                lowest.expires_at(deadline);
            }
            // A connection waiting for a request holds a small buffer (what a large request grew
            // is given back first); a request's bytes get full reads.
            if (idle && buffer.capacity() > first_read) {
                buffer.shrink_to_fit();
            }
            const std::size_t want = idle ? first_read : read_limits::read_chunk;
            if (buffer.size() + want > limits_.max_buffered()) {
                co_return http::error::header_limit;
            }
            entry_.idle.store(idle, std::memory_order_relaxed);
            auto [rec, n] = co_await stream.async_read_some(buffer.prepare(want), use_tuple);
            entry_.idle.store(false, std::memory_order_relaxed);
            buffer.commit(n);
            if (rec == net::error::eof || rec == net::ssl::error::stream_truncated) {
                if (!parser.got_some() && buffer.size() == 0) {
                    co_return http::error::end_of_stream;
                }
                parser.put_eof(ec);
                co_return ec ? ec : http::error::partial_message;
            }
            if (rec) {
                co_return rec;
            }
        }
    }

    // Status line, fields and body in two buffers, written with one call.
    template <class Stream> task<boost::system::error_code> write_response(Stream& stream, const http_response& res)
    {
        std::string head;
        head.reserve(256);
        head += res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
        head += std::to_string(res.result_int());
        head += ' ';
        const auto reason = res.reason();
        head.append(reason.data(), reason.size());
        head += "\r\n";
        for (const auto& field : res) {
            const auto name = field.name_string();
            const auto value = field.value();
            head.append(name.data(), name.size()).append(": ").append(value.data(), value.size()).append("\r\n");
        }
        head += "\r\n";
        const std::array<net::const_buffer, 2> buffers{net::buffer(head), net::buffer(res.body())};
        beast::get_lowest_layer(stream).expires_after(d_.cfg.write_timeout);
        auto [ec, n] = co_await net::async_write(stream, buffers, use_tuple);
        co_return ec;
    }

    static constexpr std::size_t first_read = 1024;

    request_context context_for(http_request& req)
    {
        std::string client = forwarded::client_address(d_.cfg.trusted_proxies, peer_, req["X-Forwarded-For"]);
        const std::string_view incoming_id = req["X-Request-Id"];
        request_context ctx{req, peer_, std::move(client), tls_,
            is_sane_request_id(incoming_id) ? std::string(incoming_id) : make_request_id()};
        const std::string_view target(req.target().data(), req.target().size());
        const std::size_t q = target.find('?');
        ctx.path = target.substr(0, q);
        ctx.query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
        return ctx;
    }

    template <class Stream> task<void> answer_error(Stream& stream, http::status status)
    {
        http_request none;
        request_context ctx{none, peer_, peer_, tls_, make_request_id()};
        ctx.route = "invalid";
        auto res = json_error(
            status, code_for(status), "the request could not be read: " + std::string(http::obsolete_reason(status)));
        res.keep_alive(false);
        res.set(http::field::server, "switchboard");
        res.set("X-Request-Id", ctx.request_id);
        res.prepare_payload();
        co_await write_response(stream, res);
        d_.stats.route("invalid", "UNKNOWN").observe(res.result_int(), 0);
        access_log(ctx, "UNKNOWN", res.result_int(), 0);
    }

    // The final answer to headers refused before their body was invited; then close.
    template <class Stream>
    task<void> answer_refused(Stream& stream, http_request& req, http_response res, clock::time_point start)
    {
        request_context ctx = context_for(req);
        ctx.route = "refused_before_body";
        res.version(req.version());
        res.keep_alive(false);
        res.set(http::field::server, "switchboard");
        res.set("X-Request-Id", ctx.request_id);
        res.prepare_payload();
        co_await write_response(stream, res);
        const double seconds = std::chrono::duration<double>(clock::now() - start).count();
        const auto method = req.method_string();
        const std::string_view method_sv(method.data(), method.size());
        access_log(ctx, method_sv, res.result_int(), seconds);
    }

    // Dispatches one request and writes the answer; false: close the connection.
    template <class Stream> task<bool> handle(Stream& stream, http_request& req, clock::time_point start)
    {
        request_context ctx = context_for(req);

        d_.stats.requests_in_flight.Increment();
        http_response res;
        try {
            res = co_await d_.routes.dispatch(ctx);
        } catch (const std::exception& e) {
            log::line(log::level::error, "handler failed")
                .str("request_id", ctx.request_id)
                .str("route", ctx.route)
                .str("error", e.what())
                .emit();
            res = json_error(http::status::internal_server_error, "internal", "internal error");
        }
        d_.stats.requests_in_flight.Decrement();
        if (ctx.authenticated && !authenticated_) {
            authenticated_ = true;
            d_.connections.authenticated(entry_);
        }

        res.version(req.version());
        res.keep_alive(req.keep_alive() && !d_.draining.load());
        res.set(http::field::server, "switchboard");
        res.set("X-Request-Id", ctx.request_id);
        res.prepare_payload();
        const auto wec = co_await write_response(stream, res);

        const double seconds = std::chrono::duration<double>(clock::now() - start).count();
        const auto method = req.method_string();
        const std::string_view method_sv(method.data(), method.size());
        route_metrics& rm = ctx.route_stats != nullptr
            ? *ctx.route_stats
            : d_.stats.route(ctx.route, req.method() == http::verb::unknown ? "OTHER" : method_sv);
        rm.observe(res.result_int(), seconds);
        access_log(ctx, method_sv, res.result_int(), seconds);
        co_return !wec && res.keep_alive();
    }

    listener_deps& d_;
    connection_registry::entry& entry_;
    std::string peer_;
    bool tls_;
    read_limits limits_;
    bool authenticated_ = false;
};

// Undoes a connection's registration however its coroutine ends (an escaped exception too).
class registration {
public:
    registration(connection_registry& r, connection_registry::entry& e, prometheus::Gauge& open)
        : registry_(r), entry_(e), open_(open)
    {
        open_.Increment();
    }
    ~registration()
    {
        registry_.remove(entry_);
        open_.Decrement();
    }
    registration(const registration&) = delete;
    registration& operator=(const registration&) = delete;

private:
    connection_registry& registry_;
    connection_registry::entry& entry_;
    prometheus::Gauge& open_;
};

std::string peer_text(const net::ip::address& a)
{
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).to_string();
    }
    return a.to_string();
}

task<void> serve_connection(net::basic_stream_socket<tcp, connection_executor> socket, listener_deps d)
{
    boost::system::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    std::string peer = ec ? std::string("unknown") : peer_text(remote.address());
    stream_type stream(std::move(socket));
    connection_registry::entry entry(stream.get_executor());
    entry.stream = &stream;
    entry.client = ec ? peer : client_key(remote.address());
    entry.exempt = !ec && forwarded::contains(d.cfg.trusted_proxies, peer);
    switch (d.connections.admit(entry)) {
    case connection_registry::admission::refused_global:
        d.stats.connections_refused.Add({{"listener", d.name}, {"reason", "global_cap"}}).Increment();
        co_return; // the stream's destructor closes the socket
    case connection_registry::admission::refused_client:
        d.stats.connections_refused.Add({{"listener", d.name}, {"reason", "client_cap"}}).Increment();
        co_return;
    case connection_registry::admission::admitted_evicting:
        d.stats.connections_evicted.Add({{"listener", d.name}}).Increment();
        break;
    case connection_registry::admission::admitted:
        break;
    }
    const registration registered(d.connections, entry, d.stats.connections_open.Add({{"listener", d.name}}));
    session s(d, entry, std::move(peer), d.tls != nullptr);

    if (d.tls == nullptr) {
        co_await s.run(stream);
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    } else {
        // The context is shared: a SIGHUP reload replaces it for new connections only.
        const auto ctx = d.tls->current();
        beast::ssl_stream<stream_type&> tls(stream, *ctx);
        stream.expires_after(d.cfg.handshake_timeout);
        entry.idle.store(true, std::memory_order_relaxed); // a silent handshake may be evicted too
        auto [hec] = co_await tls.async_handshake(net::ssl::stream_base::server, use_tuple);
        entry.idle.store(false, std::memory_order_relaxed);
        if (hec) {
            d.stats.tls_handshake_failures.Increment();
            log::line(log::level::debug, "tls handshake failed").str("error", hec.message()).emit();
        } else {
            co_await s.run(tls);
            stream.expires_after(std::chrono::seconds(2));
            co_await tls.async_shutdown(use_tuple);
        }
    }
}

} // namespace

std::string client_key(const net::ip::address& address)
{
    if (address.is_v6() && !address.to_v6().is_v4_mapped()) {
        auto bytes = address.to_v6().to_bytes();
        std::fill(bytes.begin() + 8, bytes.end(), 0);
        return net::ip::address_v6(bytes).to_string() + "/64";
    }
    return peer_text(address);
}

void connection_registry::set_caps(connection_caps caps)
{
    const std::lock_guard lock(mutex_);
    caps_ = caps;
}

connection_caps connection_registry::caps() const
{
    const std::lock_guard lock(mutex_);
    return caps_;
}

connection_registry::admission connection_registry::admit(entry& e)
{
    const std::lock_guard lock(mutex_);
    if (caps_.max_total != 0 && entries_.size() >= caps_.max_total) {
        return admission::refused_global;
    }
    admission result = admission::admitted;
    if (caps_.max_pending_per_client != 0 && !e.exempt) {
        auto& mine = pending_[e.client];
        if (mine.size() >= caps_.max_pending_per_client) {
            // Make room by closing the client's longest-waiting silent connection.
            const auto victim = std::find_if(mine.begin(), mine.end(), [this](std::uint64_t id) {
                const auto it = entries_.find(id);
                return it != entries_.end() && it->second->idle.load(std::memory_order_relaxed);
            });
            if (victim == mine.end()) {
                if (mine.empty()) {
                    pending_.erase(e.client);
                }
                return admission::refused_client;
            }
            const std::uint64_t id = *victim;
            entries_.at(id)->pending = false;
            mine.erase(victim);
            close_if_idle(id);
            result = admission::admitted_evicting;
        }
    }
    e.id = next_id_++;
    entries_.emplace(e.id, &e);
    if (caps_.max_pending_per_client != 0 && !e.exempt) {
        pending_[e.client].push_back(e.id);
        e.pending = true;
    }
    return result;
}

void connection_registry::forget_pending(entry& e)
{
    if (!e.pending) {
        return;
    }
    e.pending = false;
    const auto it = pending_.find(e.client);
    if (it == pending_.end()) {
        return;
    }
    std::erase(it->second, e.id);
    if (it->second.empty()) {
        pending_.erase(it);
    }
}

void connection_registry::remove(entry& e)
{
    const std::lock_guard lock(mutex_);
    forget_pending(e);
    entries_.erase(e.id);
}

void connection_registry::authenticated(entry& e)
{
    const std::lock_guard lock(mutex_);
    forget_pending(e);
}

std::size_t connection_registry::size() const
{
    const std::lock_guard lock(mutex_);
    return entries_.size();
}

void connection_registry::close_idle()
{
    for_each(true);
}
void connection_registry::close_all()
{
    for_each(false);
}

// Under mutex_: cancels the connection on its strand if it is still there and still idle.
void connection_registry::close_if_idle(std::uint64_t id)
{
    const auto it = entries_.find(id);
    if (it == entries_.end()) {
        return;
    }
    net::post(it->second->executor, [this, id] {
        const std::lock_guard inner(mutex_);
        const auto found = entries_.find(id);
        if (found != entries_.end() && found->second->idle.load(std::memory_order_relaxed)) {
            found->second->stream->cancel();
        }
    });
}

void connection_registry::for_each(bool idle_only)
{
    const std::lock_guard lock(mutex_);
    for (const auto& [id, e] : entries_) {
        if (idle_only) {
            close_if_idle(id);
            continue;
        }
        // Look the entry up again on its strand: it may have ended in between.
        net::post(e->executor, [this, id = id] {
            const std::lock_guard inner(mutex_);
            const auto it = entries_.find(id);
            if (it != entries_.end()) {
                it->second->stream->cancel();
            }
        });
    }
}

net::awaitable<void> accept_loop(tcp::acceptor& acceptor, listener_deps deps)
{
    auto executor = co_await net::this_coro::executor;
    auto& ioc = static_cast<net::io_context&>(executor.context());
    constexpr auto accept_token = net::as_tuple(net::use_awaitable);
    std::chrono::milliseconds backoff{0};
    for (;;) {
        // Each connection gets its own strand; its socket and coroutine are typed on it.
        auto [ec, socket] = co_await acceptor.async_accept(net::make_strand(ioc), accept_token);
        if (ec == net::error::operation_aborted || !acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            // Out of descriptors (EMFILE, ENFILE) or a transient network error: back off,
            // doubling up to a second, and say so once per episode; keep serving.
            if (backoff == std::chrono::milliseconds(0)) {
                log::line(log::level::warn, "accept failed")
                    .str("listener", deps.name)
                    .str("error", ec.message())
                    .emit();
            }
            backoff = std::min<std::chrono::milliseconds>(
                std::chrono::milliseconds(1000), std::max(std::chrono::milliseconds(10), backoff * 2));
            net::steady_timer pause(executor, backoff);
            co_await pause.async_wait(accept_token);
            continue;
        }
        if (backoff != std::chrono::milliseconds(0)) {
            log::line(log::level::info, "accepting again").str("listener", deps.name).emit();
            backoff = std::chrono::milliseconds(0);
        }
        auto strand = socket.get_executor();
        net::co_spawn(strand, serve_connection(std::move(socket), deps), log::on_failure("connection failed"));
    }
}

} // namespace switchboard
