// The one mapping from Switchboard errors to HTTP answers: status, stable code, message.
#pragma once

#include "service/http/http_context.hpp"

#include <boost/system/error_code.hpp>

namespace switchboard {

http::status to_status(boost::system::error_code ec) noexcept;

// A stable machine-readable code for the JSON error body, e.g. "signature_invalid".
std::string_view to_code(boost::system::error_code ec) noexcept;

// {"code","message"} for `ec`; `message` defaults to the error's own text. Errors that are
// not ours (a foreign category) become a generic 500 without details.
http_response error_response(boost::system::error_code ec, std::string_view message = {});

} // namespace switchboard
