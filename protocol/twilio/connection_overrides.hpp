// Twilio's connection overrides: the URL fragment (`#ct=2000&rc=2&rp=ct,rt,5xx`) that tells
// Twilio how to connect to one webhook or callback URL: connect, read and total timeouts, how
// often to retry and on what, which edge to send from, SNI. The fragment never reaches us (a
// client does not send it), and Twilio signs the URL without it.
#pragma once

#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace switchboard::connection_overrides {

// Parses `ct=…&rt=…&tt=…&rc=…&rp=…&e=…&sni=…` (a leading '#' allowed, every key optional, none
// twice) and returns it in that canonical order. Ranges (Twilio's): ct 100..10000 ms, rt and tt
// 100..15000 ms, rc 0..5, rp a comma list of 4xx, 5xx, ct, rt, all; e an edge name (lowercase
// letters and '-'); sni y or n. "" and "none" are no overrides (""). Error: invalid_parameter,
// with the reason in `problem`.
boost::system::result<std::string> parse(std::string_view text, std::string* problem);

// `url` with `#overrides` appended; a URL that carries a fragment already keeps its own, and
// empty overrides leave it as it is.
std::string apply(std::string_view url, std::string_view overrides);

} // namespace switchboard::connection_overrides
