// Twilio's connection overrides.
#include "protocol/twilio/connection_overrides.hpp"

#include "protocol/core/error.hpp"
#include "protocol/core/text.hpp"

#include <algorithm>
#include <array>
#include <optional>

namespace switchboard::connection_overrides {
namespace {

struct key_rule {
    std::string_view name;
    int min = 0; // numeric keys: inclusive range
    int max = 0;
    std::string_view meaning;
};

// In canonical order; rp, e and sni are words, checked below.
constexpr std::array<key_rule, 7> keys{{
    {"ct", 100, 10000, "connect timeout in ms"},
    {"rt", 100, 15000, "read timeout in ms"},
    {"tt", 100, 15000, "total timeout in ms"},
    {"rc", 0, 5, "retry count"},
    {"rp", 0, 0, "retry policy"},
    {"e", 0, 0, "edge"},
    {"sni", 0, 0, "server name indication"},
}};

bool is_retry_policy(std::string_view v)
{
    while (true) {
        const std::size_t comma = v.find(',');
        const std::string_view item = v.substr(0, comma);
        if (item != "4xx" && item != "5xx" && item != "ct" && item != "rt" && item != "all") {
            return false;
        }
        if (comma == std::string_view::npos) {
            return true;
        }
        v.remove_prefix(comma + 1);
    }
}

bool is_edge(std::string_view v)
{
    return !v.empty() && v.size() <= 32 && v.front() != '-' && v.back() != '-'
        && std::all_of(v.begin(), v.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '-'; });
}

// Why `value` is not acceptable for `k`; empty when it is.
std::string check(const key_rule& k, std::string_view value)
{
    if (k.name == "rp") {
        return is_retry_policy(value) ? std::string()
                                      : "rp (retry policy) must be a comma list of 4xx, 5xx, ct, rt, all";
    }
    if (k.name == "e") {
        return is_edge(value) ? std::string() : "e (edge) must be an edge name such as ashburn or frankfurt";
    }
    if (k.name == "sni") {
        return value == "y" || value == "n" ? std::string() : "sni must be y or n";
    }
    const auto n = text::to_integer<int>(value);
    if (!n || *n < k.min || *n > k.max) {
        return std::string(k.name) + " (" + std::string(k.meaning) + ") must be a whole number from "
            + std::to_string(k.min) + " to " + std::to_string(k.max);
    }
    return {};
}

} // namespace

boost::system::result<std::string> parse(std::string_view text, std::string* problem)
{
    const auto refuse = [&](std::string why) -> boost::system::result<std::string> {
        if (problem != nullptr) {
            *problem = std::move(why);
        }
        return make_error_code(error::invalid_parameter);
    };
    if (text.starts_with('#')) {
        text.remove_prefix(1);
    }
    if (text.empty() || text == "none") {
        return std::string();
    }
    std::array<std::optional<std::string_view>, keys.size()> values;
    while (true) {
        const std::size_t amp = text.find('&');
        const std::string_view pair = text.substr(0, amp);
        const std::size_t eq = pair.find('=');
        const std::string_view name = pair.substr(0, eq);
        const auto* k = std::find_if(keys.begin(), keys.end(), [&](const key_rule& r) { return r.name == name; });
        if (eq == std::string_view::npos || k == keys.end()) {
            return refuse("unknown connection override '" + std::string(pair)
                + "': expected key=value pairs of ct, rt, tt, rc, rp, e, sni joined by '&'");
        }
        auto& slot = values[static_cast<std::size_t>(k - keys.begin())];
        if (slot) {
            return refuse("connection override " + std::string(name) + " is given twice");
        }
        const std::string_view value = pair.substr(eq + 1);
        if (std::string why = check(*k, value); !why.empty()) {
            return refuse(why + ", got '" + std::string(value) + "'");
        }
        slot = value;
        if (amp == std::string_view::npos) {
            break;
        }
        text.remove_prefix(amp + 1);
    }
    std::string out;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (values[i]) {
            out.append(out.empty() ? "" : "&").append(keys[i].name).append("=").append(*values[i]);
        }
    }
    return out;
}

std::string apply(std::string_view url, std::string_view overrides)
{
    std::string out(url);
    if (!overrides.empty() && url.find('#') == std::string_view::npos) {
        out.append("#").append(overrides);
    }
    return out;
}

} // namespace switchboard::connection_overrides
