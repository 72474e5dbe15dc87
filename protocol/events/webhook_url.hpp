// The URL forms under which Twilio's helper libraries accept a webhook signature: as received
// with and without the port, and WHATWG-normalised, with and without the port, with and
// without Node's legacy query-string re-encoding (twilio-node 6.x validateRequest).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::webhook_url {

struct parts {
    std::string_view scheme; // "https://" (as written, separator included)
    std::string_view userinfo; // "user:pw@" or empty
    std::string_view host; // "example.com" or "[::1]"
    std::string_view port; // ":8443" or empty
    std::string_view rest; // "/path?query" (may be empty)
};

// Splits `scheme://authority` without normalising anything; nullopt without "scheme://".
std::optional<parts> split(std::string_view url) noexcept;

std::string add_default_port(std::string_view url);
std::string remove_port(std::string_view url);

// new URL(url).toString() for http(s) URLs with an ASCII host; nullopt where that would throw
// or where the input needs a feature not implemented here (IDNA hosts, non-http schemes).
std::optional<std::string> normalize(std::string_view url);

// The query re-encoded by querystring.stringify(querystring.parse(query)).
std::string with_legacy_querystring(std::string_view url);

// The URL as received, without and with its port: what Twilio signs in practice.
std::vector<std::string> received_forms(std::string_view url);
// The normalised forms the helper library tries next (none when the URL cannot be normalised).
std::vector<std::string> normalized_forms(std::string_view url);
// Every distinct candidate, in the order the helper library tries them.
std::vector<std::string> candidates(std::string_view url);

} // namespace switchboard::webhook_url
