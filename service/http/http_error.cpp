// Error → HTTP mapping.
#include "service/http/http_error.hpp"

#include "protocol/core/error.hpp"

namespace switchboard {

http::status to_status(boost::system::error_code ec) noexcept
{
    if (ec.category() != error_category()) {
        return http::status::internal_server_error;
    }
    switch (static_cast<error>(ec.value())) {
    case error::ok:
        return http::status::ok;
    case error::malformed_form:
    case error::missing_parameter:
    case error::invalid_parameter:
    case error::invalid_url:
    case error::malformed_json:
    case error::upstream_rejected:
        return http::status::bad_request;
    case error::unauthorized:
        return http::status::unauthorized;
    case error::forbidden:
        return http::status::forbidden;
    case error::conflict:
    case error::idempotency_key_in_use:
        return http::status::conflict;
    case error::idempotency_key_reused:
        return http::status::unprocessable_entity;
    case error::not_configured:
        return http::status::service_unavailable;
    case error::upstream_failed:
        return http::status::bad_gateway;
    case error::upstream_timeout:
        return http::status::gateway_timeout;
    case error::signature_missing:
    case error::signature_mismatch:
    case error::body_hash_mismatch:
        return http::status::forbidden;
    case error::rate_limited:
        return http::status::too_many_requests;
    case error::invalid_config:
        return http::status::internal_server_error;
    case error::store_unavailable:
        return http::status::service_unavailable;
    case error::not_found:
        return http::status::not_found;
    }
    return http::status::internal_server_error;
}

std::string_view to_code(boost::system::error_code ec) noexcept
{
    if (ec.category() != error_category()) {
        return "internal";
    }
    switch (static_cast<error>(ec.value())) {
    case error::ok:
        return "ok";
    case error::malformed_form:
        return "malformed_form";
    case error::missing_parameter:
        return "missing_parameter";
    case error::invalid_parameter:
        return "invalid_parameter";
    case error::invalid_url:
        return "invalid_url";
    case error::signature_missing:
    case error::signature_mismatch:
    case error::body_hash_mismatch:
        return "signature_invalid";
    case error::rate_limited:
        return "rate_limited";
    case error::malformed_json:
        return "malformed_json";
    case error::unauthorized:
        return "unauthorized";
    case error::forbidden:
        return "forbidden";
    case error::conflict:
        return "conflict";
    case error::idempotency_key_in_use:
        return "idempotency_key_in_use";
    case error::idempotency_key_reused:
        return "idempotency_key_reused";
    case error::not_configured:
        return "not_configured";
    case error::upstream_rejected:
        return "twilio_rejected";
    case error::upstream_failed:
        return "twilio_failed";
    case error::upstream_timeout:
        return "twilio_timeout";
    case error::invalid_config:
        return "internal";
    case error::store_unavailable:
        return "store_unavailable";
    case error::not_found:
        return "not_found";
    }
    return "internal";
}

http_response error_response(boost::system::error_code ec, std::string_view message)
{
    const http::status status = to_status(ec);
    if (status == http::status::internal_server_error) {
        return json_error(status, "internal", "internal error");
    }
    const std::string own = ec.message();
    return json_error(status, to_code(ec), message.empty() ? std::string_view(own) : message);
}

} // namespace switchboard
