// Subscriber rules (subscriber_rules.hpp).
#include "protocol/events/subscriber_rules.hpp"

#include "protocol/core/text.hpp"

#include <algorithm>
#include <array>

namespace switchboard::subscriber_rules {
namespace {

bool is_tchar(char c) noexcept
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    constexpr std::string_view others = "!#$%&'*+-.^_`|~";
    return others.find(c) != std::string_view::npos;
}

constexpr std::array<std::string_view, 16> reserved = {"host", "content-type", "content-length", "transfer-encoding",
    "connection", "keep-alive", "upgrade", "te", "trailer", "expect", "proxy-connection", "user-agent", "webhook-id",
    "webhook-timestamp", "webhook-signature", "content-encoding"};

} // namespace

std::optional<std::string> header_problem(std::string_view name, std::string_view value)
{
    if (name.empty() || name.size() > 64 || !std::all_of(name.begin(), name.end(), is_tchar)) {
        return "header name '" + std::string(name.substr(0, 64))
            + "' must be 1 to 64 letters, digits or !#$%&'*+-.^_`|~";
    }
    for (const std::string_view r : reserved) {
        if (text::iequals(name, r)) {
            return "header '" + std::string(name) + "' is written by Switchboard and cannot be set";
        }
    }
    if (value.size() > max_header_value) {
        return "header '" + std::string(name) + "' is longer than " + std::to_string(max_header_value) + " bytes";
    }
    const bool visible = std::all_of(value.begin(), value.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u >= 0x20 && u < 0x7f) || u == '\t';
    });
    if (!visible) {
        return "header '" + std::string(name) + "' must be visible ASCII, spaces and tabs (no CR, LF or NUL)";
    }
    if (!value.empty()
        && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' || value.back() == '\t')) {
        return "header '" + std::string(name) + "' must not start or end with whitespace";
    }
    return std::nullopt;
}

} // namespace switchboard::subscriber_rules
