// The operator API's handlers, one object shared by its routes (service/phone/phone_routes.cpp
// registers them): the Twilio-backed operations (phone_twilio_routes.cpp), the call log, health
// and stats (phone_log_routes.cpp), the Samsaek line's webhooks and the Idempotency-Key wrapper
// (phone_routes.cpp). Internal to service/phone/.
#pragma once

#include "protocol/phone_api/phone_api.hpp"
#include "service/app/config.hpp"
#include "service/phone/phone_answers.hpp"
#include "service/phone/phone_routes.hpp"
#include "service/store/awaitable_store.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace switchboard {

struct phone_handlers {
    phone_deps d;
    const phone_config& cfg() const { return d.cfg.phone; }
    std::optional<http_response> need_twilio() const;
    std::optional<http_response> need_sender() const;
    std::string path(std::string_view rest) const { return phone_api::account_path(cfg().account_sid, rest); }
    task<http_response> search(request_context& ctx);
    task<http_response> purchase(request_context& ctx);
    task<http_response> place_call(request_context& ctx);
    task<http_response> send_sms(request_context& ctx);
    task<http_response> balance(request_context&);
    task<http_response> history(request_context& ctx);
    task<http_response> twilio_history(const phone_api::history_query& q);
    task<http_response> call(request_context& ctx);
    // Re-points a number the account already owns: no purchase needed to use the service.
    task<http_response> update_number(request_context& ctx);
    task<http_response> hangup(request_context& ctx);
    task<http_response> health(request_context&);
    task<http_response> stats(request_context&);
    task<http_response> incoming_call(request_context& ctx);
    task<http_response> status_callback(request_context& ctx);
    // Records what the API did; false (logged) when the store could not commit it.
    // A create with an Idempotency-Key (protocol/phone_api/idempotency.hpp): the first request with a key
    // runs `handler` and its answer is kept; a repeat with the same body gets that answer again
    // (Idempotent-Replayed: true) without calling Twilio, from any replica sharing the store.
    // Without the header the handler just runs.
    task<http_response> idempotent(
        request_context& ctx, std::string_view route, task<http_response> (phone_handlers::*run)(request_context&));
    task<bool> record(std::string_view what, task<store_result<bool>> write);
};

} // namespace switchboard
