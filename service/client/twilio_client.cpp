// Twilio REST client: request building, safe retries, error mapping, pagination.
#include "service/client/twilio_client.hpp"

#include "protocol/core/crypto.hpp"
#include "protocol/core/error.hpp"
#include "protocol/core/text.hpp"
#include "protocol/events/delivery_policy.hpp"
#include "service/client/http_client.hpp"
#include "service/ops/clock.hpp"
#include "service/ops/log.hpp"
#include "service/ops/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <stdexcept>

namespace switchboard {
namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable_t<connection_executor>{});
constexpr int max_attempts = 3;

http_origin parse_origin(const std::string& url, const std::string& ca_file, std::string& base_path)
{
    auto u = parse_http_url(url);
    if (!u || u->has_query) {
        throw std::runtime_error("TWILIO_API_BASE_URL must be an absolute http:// or https:// URL without credentials "
                                 "or query, got '"
            + url + "'");
    }
    u->origin.ca_file = ca_file;
    base_path = text::without_trailing_slashes(u->path);
    return std::move(u->origin);
}

} // namespace

twilio_client::twilio_client(net::io_context& ioc, twilio_settings settings, metrics& stats)
    : settings_(std::move(settings)), stats_(stats), strand_(net::make_strand(ioc))
{
    http_ = std::make_unique<http_client>(
        strand_, parse_origin(settings_.base_url, settings_.ca_file, base_path_), 16, 4 * 1024 * 1024);
    const std::string credentials = settings_.username + ":" + settings_.password;
    authorization_ = "Basic "
        + crypto::base64_encode(reinterpret_cast<const unsigned char*>(credentials.data()), credentials.size());
}

twilio_client::~twilio_client() = default;

void twilio_client::stop()
{
    net::post(strand_, [this] { http_->close_idle(); });
}

task<twilio_result> twilio_client::get(std::string_view operation, std::string path)
{
    return request(operation, http::verb::get, std::move(path), {}, settings_.timeout);
}

task<twilio_result> twilio_client::post(
    std::string_view operation, std::string path, std::string form, std::optional<std::chrono::milliseconds> timeout)
{
    return request(operation, http::verb::post, std::move(path), std::move(form),
        timeout ? std::min(*timeout, settings_.timeout) : settings_.timeout);
}

task<twilio_result> twilio_client::request(std::string_view operation, http::verb method, std::string path,
    std::string form, std::chrono::milliseconds timeout)
{
    // Every exchange runs on the client's strand, which owns the connection pool.
    co_return co_await net::co_spawn(strand_,
        run(std::string(operation), method, std::move(path), std::move(form), timeout),
        net::use_awaitable_t<connection_executor>{});
}

task<twilio_result> twilio_client::run(
    std::string operation, http::verb method, std::string path, std::string form, std::chrono::milliseconds timeout)
{
    const bool idempotent = method == http::verb::get;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    twilio_result out;
    for (int attempt = 1;; ++attempt) {
        http_request req{method, base_path_ + path, 11};
        req.set(http::field::authorization, authorization_);
        req.set(http::field::user_agent, "Switchboard/" SWITCHBOARD_VERSION);
        req.set(http::field::accept, "application/json");
        if (method != http::verb::get) {
            req.set(http::field::content_type, "application/x-www-form-urlencoded");
            req.body() = form;
        }
        req.prepare_payload();
        const auto started = std::chrono::steady_clock::now();
        http_result r = co_await http_->send(req, deadline, idempotent);
        stats_.twilio_request(
            operation, r.kind, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());

        out = twilio_result{};
        out.status = r.status;
        std::optional<std::chrono::milliseconds> wait; // set: retry after this long
        const auto backoff = std::chrono::milliseconds(200 << (attempt - 1));
        if (r.status == 0) {
            out.detail = r.error;
            out.ec = r.kind == "timeout" ? error::upstream_timeout : error::upstream_failed;
            // A request that may have reached Twilio is retried only when it is idempotent.
            if (r.kind != "timeout" && (idempotent || r.not_sent)) {
                wait = backoff;
            }
        } else if (r.status >= 200 && r.status < 300) {
            boost::system::error_code ec;
            out.body = boost::json::parse(r.response.body(), ec);
            if (ec) {
                out.ec = error::upstream_failed;
                out.detail = "the answer is not JSON: " + ec.message();
            }
            co_return out;
        } else {
            out.error = phone_api::parse_twilio_error(r.response.body());
            if (r.status == 429) {
                out.ec = error::rate_limited;
                std::optional<std::chrono::milliseconds> after;
                if (const auto it = r.response.find(http::field::retry_after); it != r.response.end()) {
                    after = delivery::parse_retry_after(it->value(), unix_ms_now() / 1000);
                }
                wait = after.value_or(backoff);
                out.retry_after = std::chrono::ceil<std::chrono::seconds>(*wait);
            } else if (r.status >= 500) {
                out.ec = error::upstream_failed;
                if (idempotent) {
                    wait = backoff;
                }
            } else if (r.status == 404) {
                out.ec = error::not_found;
            } else if (r.status == 401 || r.status == 403) {
                out.ec = error::upstream_failed; // our credentials, not the caller's input
                log::line(log::level::error, "Twilio refused the configured credentials")
                    .str("operation", operation)
                    .num("status", r.status)
                    .masked("twilio_message", out.error.message)
                    .emit();
            } else {
                out.ec = error::upstream_rejected;
            }
        }
        if (!wait || attempt >= max_attempts || std::chrono::steady_clock::now() + *wait >= deadline) {
            co_return out;
        }
        log::line(log::level::debug, "Twilio request retried")
            .str("operation", operation)
            .num("attempt", attempt)
            .num("status", r.status)
            .str("error", r.error)
            .emit();
        net::steady_timer pause(strand_, *wait);
        co_await pause.async_wait(use_tuple);
    }
}

task<twilio_result> twilio_client::get_all(
    std::string_view operation, std::string path, std::string list_key, std::size_t max_items)
{
    boost::json::array items;
    unsigned pages = 0;
    bool more = false;
    for (;;) {
        twilio_result r = co_await get(operation, path);
        if (r.ec) {
            co_return r;
        }
        ++pages;
        const auto* obj = r.body.if_object();
        const auto* list = obj != nullptr ? obj->if_contains(list_key) : nullptr;
        if (list == nullptr || !list->is_array()) {
            r.ec = error::upstream_failed;
            r.detail = "the answer has no '" + list_key + "' list";
            co_return r;
        }
        for (const auto& item : list->get_array()) {
            if (items.size() < max_items) {
                items.push_back(item);
            }
        }
        const auto* next = obj->if_contains("next_page_uri");
        // Only a path under the API version is followed: never another host.
        more = next != nullptr && next->is_string() && next->get_string().starts_with("/2010-04-01/");
        if (!more || items.size() >= max_items || pages >= settings_.max_pages) {
            break;
        }
        path = std::string(next->get_string());
    }
    twilio_result out;
    out.status = 200;
    boost::json::object body;
    body[list_key] = std::move(items);
    body["pages"] = pages;
    body["more"] = more;
    out.body = std::move(body);
    co_return out;
}

} // namespace switchboard
