// Twilio's REST API, asynchronously: Basic auth (auth token or API key), form-encoded bodies,
// JSON answers, one deadline per request, pooled keep-alive connections (service/http_client)
// on the client's own strand. Retries only what is safe: GETs (transport errors, 5xx, 429)
// and any request answered 429, honouring Retry-After within the deadline. A create that
// timed out or failed with 5xx is never sent again.
#pragma once

#include "protocol/phone_api/phone_api.hpp"
#include "service/http/net.hpp"

#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard {

class metrics;
class http_client;

struct twilio_settings {
    std::string account_sid;
    std::string username; // the account SID, or an API key SID (SK…)
    std::string password; // the auth token, or the API key secret
    std::string base_url = "https://api.twilio.com";
    std::string ca_file;
    std::chrono::milliseconds timeout{15'000}; // per request, retries included
    unsigned max_pages = 10; // cap for next_page_uri loops
};

// The outcome of one REST call. `ec` is empty on success (2xx with a JSON body); otherwise
// upstream_rejected (Twilio's 4xx), not_found (404), rate_limited (429 after retries),
// upstream_failed (5xx, auth refused, transport error, bad JSON) or upstream_timeout.
struct twilio_result {
    boost::system::error_code ec;
    unsigned status = 0; // Twilio's HTTP status; 0 when none
    boost::json::value body; // the parsed JSON answer
    phone_api::twilio_error error; // Twilio's error document, when it sent one
    std::optional<std::chrono::seconds> retry_after; // with rate_limited
    std::string detail; // transport failure, for logs
};

class twilio_client {
public:
    // Throws std::runtime_error on an unusable base URL or ca_file.
    twilio_client(net::io_context& ioc, twilio_settings settings, metrics& stats);
    ~twilio_client();

    const twilio_settings& settings() const noexcept { return settings_; }

    // `operation` labels the metrics (create_call, fetch_balance, ...); `path` is absolute
    // ("/2010-04-01/…json"), with its query for GETs.
    task<twilio_result> get(std::string_view operation, std::string path);
    // `timeout` shortens the deadline (e.g. inside a webhook Twilio waits on); never lengthens it.
    task<twilio_result> post(std::string_view operation, std::string path, std::string form,
        std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    // GET that follows next_page_uri, concatenating the `list_key` arrays, up to `max_items`
    // items and settings().max_pages pages.
    task<twilio_result> get_all(
        std::string_view operation, std::string path, std::string list_key, std::size_t max_items);

    // Drops idle connections (at shutdown). Thread-safe.
    void stop();

private:
    task<twilio_result> request(std::string_view operation, http::verb method, std::string path, std::string form,
        std::chrono::milliseconds timeout);
    task<twilio_result> run(std::string operation, http::verb method, std::string path, std::string form,
        std::chrono::milliseconds timeout);

    twilio_settings settings_;
    metrics& stats_;
    connection_executor strand_;
    std::unique_ptr<http_client> http_;
    std::string base_path_; // path prefix of base_url, without a trailing slash
    std::string authorization_;
};

} // namespace switchboard
