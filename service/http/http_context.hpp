// What a handler sees of one request, and the JSON error shape every route answers with.
#pragma once

#include "protocol/core/form.hpp"
#include "service/http/net.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard {

class route_metrics;

// Fields handlers fill in for the access log line.
struct log_fields {
    std::string call_sid;
    std::string from;
    std::string to;
    std::string digits;
    std::string call_status;
    std::optional<std::int64_t> duration_seconds;
    std::optional<std::int64_t> sequence_number;
    std::string event_id; // the event this request published (or duplicated)
    std::string message_sid;
    std::string subject; // the operator API token's "sub"
};

struct request_context {
    request_context(
        http_request& req, std::string peer_address, std::string client_address, bool over_tls, std::string id)
        : request(req)
        , peer(std::move(peer_address))
        , client(std::move(client_address))
        , tls(over_tls)
        , request_id(std::move(id))
    {
    }

    http_request& request;
    std::string peer; // the TCP peer's address
    std::string client; // the client's address (X-Forwarded-For from trusted proxies)
    bool tls = false;
    std::string request_id;
    std::string_view route = "unmatched"; // route name: a bounded metric label
    route_metrics* route_stats = nullptr; // set by the router for matched routes
    std::string_view path; // request target without the query
    std::string_view query; // after '?', raw
    std::vector<std::pair<std::string, std::string>> path_params;
    // The {name} capture of the matched route; empty when it has none.
    std::string_view path_param(std::string_view name) const
    {
        for (const auto& [k, v] : path_params) {
            if (k == name) {
                return v;
            }
        }
        return {};
    }
    form_params params; // the form body (POST) or query (GET), decoded
    // Set by the router once the request proved who sent it (a valid Twilio signature, bearer
    // token or admin token): the connection then no longer counts as an anonymous one.
    bool authenticated = false;
    log_fields log;
};

// {"code": "...", "message": "..."} with the given status.
http_response json_error(http::status status, std::string_view code, std::string_view message);
http_response json_response(http::status status, std::string body);
http_response text_response(http::status status, std::string body, std::string_view content_type);
// A TwiML document (200, text/xml).
http_response twiml_response(std::string body);

// Twilio's webhooks: the call's SID and parties onto the request's log line, and the
// I-Twilio-Idempotency-Token header (empty when absent), which tells a replay from a retry.
void note_caller(request_context& ctx);
std::string_view idempotency_token(const request_context& ctx);

} // namespace switchboard
