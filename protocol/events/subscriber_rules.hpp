// Rules for what a subscriber may ask of its deliveries, shared by the configuration loader and
// (later) the subscriber API: its own request headers.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::subscriber_rules {

inline constexpr std::size_t max_headers = 32;
inline constexpr std::size_t max_header_value = 4096;

// Why `name: value` cannot be a subscriber's own header, or nullopt when it can: the name must
// be an HTTP token (RFC 9110 tchar, 1 to 64 of them), the value visible ASCII, spaces and tabs
// (no CR, LF or NUL, no leading or trailing whitespace, at most max_header_value bytes), and the
// name none of those Switchboard writes itself or that change how the message is framed
// (Host, Content-Type, Content-Length, Transfer-Encoding, Connection, the webhook-* signature
// headers, ...), compared without regard to case.
std::optional<std::string> header_problem(std::string_view name, std::string_view value);

} // namespace switchboard::subscriber_rules
