// Connection coroutines: read with deadlines and limits, dispatch, write, keep-alive, drain.
#include "service/listener.hpp"

#include "protocol/crypto.hpp"
#include "protocol/forwarded.hpp"
#include "service/config.hpp"
#include "service/log.hpp"
#include "service/metrics.hpp"
#include "service/router.hpp"
#include "service/tls.hpp"

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

namespace switchboard {

using stream_type = beast::basic_stream<net::ip::tcp, connection_executor>;

struct connection_registry::entry {
    connection_executor executor;
    stream_type* stream = nullptr;
    bool idle = false; // waiting for the first byte of a next request (strand only)
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
        : d_(d), entry_(e), peer_(std::move(peer)), tls_(tls)
    {
    }

    template <class Stream> task<void> run(Stream& stream)
    {
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(d_.cfg.header_limit));
            parser.body_limit(d_.cfg.body_limit);
            parser.eager(true);
            const auto ec = co_await read_request(stream, buffer, parser);
            const auto start = clock::now();
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
    // arrived in one segment costs one read and no extra scheduling.
    template <class Stream>
    task<boost::system::error_code> read_request(
        Stream& stream, beast::flat_buffer& buffer, http::request_parser<http::string_body>& parser)
    {
        stream_type& lowest = beast::get_lowest_layer(stream);
        clock::time_point deadline{};
        bool continued = false;
        for (;;) {
            boost::system::error_code ec;
            if (buffer.size() > 0) {
                const std::size_t used = parser.put(buffer.data(), ec);
                buffer.consume(used);
                if (!ec && parser.is_done()) {
                    co_return ec;
                }
                if (ec && ec != http::error::need_more) {
                    co_return ec;
                }
            }
            const bool idle = buffer.size() == 0 && !parser.got_some();
            if (!idle && deadline == clock::time_point{}) {
                // The whole request must arrive within the read timeout of its first byte.
                deadline = clock::now() + d_.cfg.read_timeout;
            }
            if (parser.is_header_done() && !continued && parser.get()[http::field::expect] == "100-continue") {
                continued = true;
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
                lowest.expires_after(d_.cfg.idle_timeout);
            } else {
                lowest.expires_at(deadline);
            }
            entry_.idle = idle;
            auto [rec, n] = co_await stream.async_read_some(buffer.prepare(read_chunk), use_tuple);
            entry_.idle = false;
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

    static constexpr std::size_t read_chunk = 8192;

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

    // Dispatches one request and writes the answer; false: close the connection.
    template <class Stream> task<bool> handle(Stream& stream, http_request& req, clock::time_point start)
    {
        std::string client = forwarded::client_address(d_.cfg.trusted_proxies, peer_, req["X-Forwarded-For"]);
        const std::string_view incoming_id = req["X-Request-Id"];
        request_context ctx{req, peer_, std::move(client), tls_,
            is_sane_request_id(incoming_id) ? std::string(incoming_id) : make_request_id()};
        const std::string_view target(req.target().data(), req.target().size());
        const std::size_t q = target.find('?');
        ctx.path = target.substr(0, q);
        ctx.query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);

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
};

task<void> serve_connection(net::basic_stream_socket<tcp, connection_executor> socket, listener_deps d)
{
    boost::system::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    std::string peer = ec ? std::string("unknown") : remote.address().to_string();
    if (!ec && remote.address().is_v6() && remote.address().to_v6().is_v4_mapped()) {
        peer = net::ip::make_address_v4(net::ip::v4_mapped, remote.address().to_v6()).to_string();
    }
    prometheus::Gauge& open = d.stats.connections_open.Add({{"listener", d.name}});
    open.Increment();
    stream_type stream(std::move(socket));
    connection_registry::entry entry{stream.get_executor(), &stream, false};
    const std::uint64_t id = d.connections.add(entry);
    session s(d, entry, std::move(peer), d.tls != nullptr);

    if (d.tls == nullptr) {
        co_await s.run(stream);
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    } else {
        // The context is shared: a SIGHUP reload replaces it for new connections only.
        const auto ctx = d.tls->current();
        beast::ssl_stream<stream_type&> tls(stream, *ctx);
        stream.expires_after(d.cfg.handshake_timeout);
        auto [hec] = co_await tls.async_handshake(net::ssl::stream_base::server, use_tuple);
        if (hec) {
            d.stats.tls_handshake_failures.Increment();
            log::line(log::level::debug, "tls handshake failed").str("error", hec.message()).emit();
        } else {
            co_await s.run(tls);
            stream.expires_after(std::chrono::seconds(2));
            co_await tls.async_shutdown(use_tuple);
        }
    }
    d.connections.remove(id);
    open.Decrement();
}

} // namespace

std::uint64_t connection_registry::add(entry& e)
{
    const std::lock_guard lock(mutex_);
    const std::uint64_t id = next_id_++;
    entries_.emplace(id, &e);
    return id;
}

void connection_registry::remove(std::uint64_t id)
{
    const std::lock_guard lock(mutex_);
    entries_.erase(id);
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

void connection_registry::for_each(bool idle_only)
{
    const std::lock_guard lock(mutex_);
    for (const auto& [id, e] : entries_) {
        // Look the entry up again on its strand: it may have ended in between.
        net::post(e->executor, [this, id = id, idle_only] {
            const std::lock_guard inner(mutex_);
            const auto it = entries_.find(id);
            if (it != entries_.end() && (!idle_only || it->second->idle)) {
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
    for (;;) {
        // Each connection gets its own strand; its socket and coroutine are typed on it.
        auto [ec, socket] = co_await acceptor.async_accept(net::make_strand(ioc), accept_token);
        if (ec == net::error::operation_aborted || !acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            // Out of descriptors or a transient network error: back off briefly, keep serving.
            log::line(log::level::warn, "accept failed").str("listener", deps.name).str("error", ec.message()).emit();
            net::steady_timer pause(executor, std::chrono::milliseconds(50));
            co_await pause.async_wait(accept_token);
            continue;
        }
        auto strand = socket.get_executor();
        net::co_spawn(strand, serve_connection(std::move(socket), deps), log::on_failure("connection failed"));
    }
}

} // namespace switchboard
