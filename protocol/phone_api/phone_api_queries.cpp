// The operator API's GET queries: number search (country, area code, contains, capabilities)
// and call history (limit, status, direction, the keyset cursor), 400 naming the field.
#include "protocol/phone_api/phone_api.hpp"

#include "protocol/core/error.hpp"
#include "protocol/core/form.hpp"
#include "protocol/core/text.hpp"
#include "protocol/twilio/call_status.hpp"
#include "protocol/twilio/twiml.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace switchboard::phone_api {
parsed<number_search> parse_number_search(std::string_view query, std::string* problem)
{
    const auto fail = [&](error e, std::string why) -> parsed<number_search> {
        if (problem != nullptr) {
            *problem = std::move(why);
        }
        return make_error_code(e);
    };
    const form_params q = parse_form(query);
    number_search s;
    for (std::size_t i = 0; i < q.size(); ++i) {
        const auto [name, value] = q[i];
        if (value.empty()) {
            continue; // a blank field of a form: not given
        }
        if (name == "country") {
            if (value.size() != 2
                || !std::all_of(value.begin(), value.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
                return fail(error::invalid_parameter, "country must be an ISO 3166 two-letter code such as US");
            }
            s.country = value;
        } else if (name == "area_code") {
            if (value.size() != 3 || !text::is_digits(value)) {
                return fail(error::invalid_parameter, "area_code must be three digits");
            }
            s.area_code = value;
        } else if (name == "contains") {
            const bool ok = !value.empty() && value.size() <= 16 && std::all_of(value.begin(), value.end(), [](char c) {
                return text::is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*';
            });
            if (!ok) {
                return fail(error::invalid_parameter, "contains must be 1 to 16 digits, letters or '*'");
            }
            s.contains = value;
        } else if (name == "sms_enabled" || name == "voice_enabled") {
            if (value != "true" && value != "false") {
                return fail(error::invalid_parameter, std::string(name) + " must be true or false");
            }
            (name == "sms_enabled" ? s.sms_enabled : s.voice_enabled) = value == "true";
        } else if (name == "limit") {
            const auto n = text::to_integer<int>(value);
            if (!n || *n < 1 || *n > 50) {
                return fail(error::invalid_parameter, "limit must be a whole number from 1 to 50");
            }
            s.limit = *n;
        } else {
            return fail(error::invalid_parameter, "unknown query parameter '" + std::string(name) + "'");
        }
    }
    return s;
}

parsed<history_query> parse_history_query(std::string_view query, std::string* problem)
{
    const auto fail = [&](std::string why) -> parsed<history_query> {
        if (problem != nullptr) {
            *problem = std::move(why);
        }
        return make_error_code(error::invalid_parameter);
    };
    const form_params q = parse_form(query);
    history_query h;
    for (std::size_t i = 0; i < q.size(); ++i) {
        const auto [name, value] = q[i];
        if (value.empty()) {
            continue; // a blank field of a form: not given
        }
        if (name == "limit") {
            const auto n = text::to_integer<int>(value);
            if (!n || *n < 1 || *n > 200) {
                return fail("limit must be a whole number from 1 to 200");
            }
            h.limit = *n;
        } else if (name == "status") {
            if (parse_call_status(value) == call_status::other) {
                return fail("status must be one of queued, initiated, ringing, in-progress, completed, busy, "
                            "no-answer, canceled, failed");
            }
            h.status = value;
        } else if (name == "direction") {
            if (value != "inbound" && value != "outbound" && value != "outbound-api" && value != "outbound-dial") {
                return fail("direction must be inbound, outbound, outbound-api or outbound-dial");
            }
            h.direction = value;
        } else if (name == "source") {
            if (value != "local" && value != "twilio") {
                return fail("source must be local (the call log, default) or twilio");
            }
            h.from_twilio = value == "twilio";
        } else if (name == "cursor") {
            const std::size_t dot = value.find('.');
            std::int64_t at = 0;
            const auto head = value.substr(0, dot);
            const auto [end, ec] = std::from_chars(head.data(), head.data() + head.size(), at);
            if (dot == std::string_view::npos || ec != std::errc{} || end != head.data() + head.size() || at < 0
                || !is_twilio_sid(value.substr(dot + 1), "CA")) {
                return fail("cursor is not one this API returned (use next_cursor from the previous page)");
            }
            h.before_started_at_ms = at;
            h.before_call_sid = std::string(value.substr(dot + 1));
        } else {
            return fail("unknown query parameter '" + std::string(name) + "'");
        }
    }
    if (h.from_twilio && h.before_started_at_ms) {
        return fail("cursor pages the local call log; it cannot be combined with source=twilio");
    }
    return h;
}

std::string history_cursor(std::int64_t started_at_ms, std::string_view call_sid)
{
    return std::to_string(started_at_ms) + "." + std::string(call_sid);
}

} // namespace switchboard::phone_api
