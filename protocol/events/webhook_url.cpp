// URL candidate forms for Twilio signature checks. The reference behaviour is twilio-node 6.x
// (lib/webhooks/webhooks.js) and the WHATWG URL standard (https://url.spec.whatwg.org/).
#include "protocol/events/webhook_url.hpp"

#include "protocol/core/text.hpp"

#include <algorithm>
#include <cstdint>

namespace switchboard::webhook_url {
namespace {

bool is_alpha(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
using text::is_digit;

// https://url.spec.whatwg.org/#path-percent-encode-set (C0 control set: < 0x20 and > 0x7E)
bool path_keep(unsigned char b) noexcept
{
    return b > 0x20 && b < 0x7F && b != '"' && b != '#' && b != '<' && b != '>' && b != '?' && b != '`' && b != '{'
        && b != '}';
}

// https://url.spec.whatwg.org/#special-query-percent-encode-set
bool query_keep(unsigned char b) noexcept
{
    return b > 0x20 && b < 0x7F && b != '"' && b != '#' && b != '<' && b != '>' && b != '\'';
}

// https://url.spec.whatwg.org/#fragment-percent-encode-set
bool fragment_keep(unsigned char b) noexcept
{
    return b > 0x20 && b < 0x7F && b != '"' && b != '<' && b != '>' && b != '`';
}

bool is_single_dot(std::string_view s) noexcept
{
    return s == "." || text::iequals(s, "%2e");
}

bool is_double_dot(std::string_view s) noexcept
{
    return s == ".." || text::iequals(s, ".%2e") || text::iequals(s, "%2e.") || text::iequals(s, "%2e%2e");
}

// Node's URL parser (Ada, which twilio-node relies on through `new URL`) skips dot-segment
// removal when a path has dots but nothing to percent-encode or decode and its first "/." does
// not start a dot segment: "/a/.b/.." stays as it is, where the standard would give "/a/".
// We accept exactly what the helper library accepts, so we do the same.
bool node_keeps_path(std::string_view path) noexcept
{
    std::string_view in = path.empty() ? path : path.substr(1);
    bool dot = false;
    for (const char c : in) {
        const auto b = static_cast<unsigned char>(c);
        if (c == '%' || c == '\\' || !path_keep(b)) {
            return false;
        }
        dot = dot || c == '.';
    }
    if (!dot || in.front() == '.') {
        return false;
    }
    const std::size_t slashdot = in.find("/.");
    if (slashdot == std::string_view::npos) {
        return true;
    }
    return !(slashdot + 2 == in.size() || in[slashdot + 2] == '.' || in[slashdot + 2] == '/');
}

std::string normalize_path(std::string_view path)
{
    if (node_keeps_path(path)) {
        return std::string(path);
    }
    // Special schemes treat '\' as '/'.
    std::string p(path);
    std::replace(p.begin(), p.end(), '\\', '/');
    std::vector<std::string> segments;
    std::string_view rest(p);
    if (!rest.empty() && rest.front() == '/') {
        rest.remove_prefix(1);
    }
    while (true) {
        const std::size_t slash = rest.find('/');
        const std::string_view seg = rest.substr(0, slash);
        const bool last = slash == std::string_view::npos;
        if (is_double_dot(seg)) {
            if (!segments.empty()) {
                segments.pop_back();
            }
            if (last) {
                segments.emplace_back();
            }
        } else if (is_single_dot(seg)) {
            if (last) {
                segments.emplace_back();
            }
        } else {
            segments.push_back(text::percent_encode(seg, path_keep));
        }
        if (last) {
            break;
        }
        rest.remove_prefix(slash + 1);
    }
    std::string out;
    for (const auto& s : segments) {
        out.push_back('/');
        out += s;
    }
    return out.empty() ? "/" : out;
}

bool valid_host_char(char c) noexcept
{
    // Forbidden host code points make new URL() throw; '%' would need percent-decoding and
    // IDNA, which we do not implement, so such hosts are not normalised.
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' || c == '!'
        || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' || c == ',' || c == ';'
        || c == '=';
}

// A JavaScript array index ("0", "17"; not "01"): such keys come first in property order.
std::optional<std::uint32_t> array_index(std::string_view key) noexcept
{
    if (key.empty() || key.size() > 10 || (key.size() > 1 && key[0] == '0')) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (const char c : key) {
        if (!is_digit(c)) {
            return std::nullopt;
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v >= 4294967295ULL) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(v);
}

} // namespace

std::optional<parts> split(std::string_view url) noexcept
{
    // ^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)  (case-insensitive)
    if (url.empty() || !is_alpha(url[0])) {
        return std::nullopt;
    }
    std::size_t i = 1;
    while (
        i < url.size() && (is_alpha(url[i]) || is_digit(url[i]) || url[i] == '+' || url[i] == '.' || url[i] == '-')) {
        ++i;
    }
    if (url.substr(i, 3) != "://") {
        return std::nullopt;
    }
    i += 3;
    parts p;
    p.scheme = url.substr(0, i);
    const std::size_t end = url.find_first_of("/?#", i);
    const std::string_view authority = url.substr(i, end == std::string_view::npos ? url.size() - i : end - i);
    p.rest = end == std::string_view::npos ? std::string_view{} : url.substr(end);
    const std::size_t at = authority.rfind('@');
    const std::size_t host_start = at == std::string_view::npos ? 0 : at + 1;
    p.userinfo = authority.substr(0, host_start);
    const std::string_view host_port = authority.substr(host_start);
    const std::size_t bracket = host_port.rfind(']');
    const std::size_t colon = host_port.find(':', bracket == std::string_view::npos ? 0 : bracket + 1);
    p.host = host_port.substr(0, colon);
    p.port = colon == std::string_view::npos ? std::string_view{} : host_port.substr(colon);
    return p;
}

std::string add_default_port(std::string_view url)
{
    const auto p = split(url);
    if (!p || !p->port.empty()) {
        return std::string(url);
    }
    const std::string_view port = text::iequals(p->scheme, "https://") ? ":443" : ":80";
    std::string out;
    out.reserve(url.size() + port.size());
    out.append(p->scheme).append(p->userinfo).append(p->host).append(port).append(p->rest);
    return out;
}

std::string remove_port(std::string_view url)
{
    const auto p = split(url);
    if (!p) {
        return std::string(url);
    }
    std::string out;
    out.reserve(url.size());
    out.append(p->scheme).append(p->userinfo).append(p->host).append(p->rest);
    return out;
}

std::optional<std::string> normalize(std::string_view input)
{
    // The URL parser drops leading/trailing C0 controls and spaces, and every tab and newline.
    while (!input.empty() && static_cast<unsigned char>(input.front()) <= 0x20) {
        input.remove_prefix(1);
    }
    while (!input.empty() && static_cast<unsigned char>(input.back()) <= 0x20) {
        input.remove_suffix(1);
    }
    std::string url;
    url.reserve(input.size());
    for (const char c : input) {
        if (c != '\t' && c != '\n' && c != '\r') {
            url.push_back(c);
        }
    }
    const auto p = split(url);
    if (!p) {
        return std::nullopt;
    }
    const std::string scheme = text::ascii_lower(p->scheme);
    const bool https = scheme == "https://";
    if (!https && scheme != "http://") {
        return std::nullopt;
    }
    if (!p->userinfo.empty() || p->host.empty() || p->host.front() == '[') {
        return std::nullopt;
    }
    const std::string host = text::ascii_lower(p->host);
    if (!std::all_of(host.begin(), host.end(), valid_host_char)) {
        return std::nullopt;
    }
    std::string port;
    if (p->port.size() > 1) {
        std::string_view digits = p->port.substr(1);
        if (!std::all_of(digits.begin(), digits.end(), is_digit)) {
            return std::nullopt;
        }
        while (digits.size() > 1 && digits.front() == '0') {
            digits.remove_prefix(1);
        }
        if (digits.size() > 5 || std::stoul(std::string(digits)) > 65535) {
            return std::nullopt;
        }
        if (digits != (https ? "443" : "80")) {
            port = ":" + std::string(digits);
        }
    }
    std::string_view rest = p->rest;
    std::string_view fragment;
    const std::size_t hash = rest.find('#');
    if (hash != std::string_view::npos) {
        fragment = rest.substr(hash + 1);
        rest = rest.substr(0, hash);
    }
    std::string_view query;
    bool has_query = false;
    const std::size_t qmark = rest.find('?');
    if (qmark != std::string_view::npos) {
        query = rest.substr(qmark + 1);
        rest = rest.substr(0, qmark);
        has_query = true;
    }
    std::string out = scheme + host + port + normalize_path(rest);
    if (has_query) {
        out += '?';
        out += text::percent_encode(query, query_keep);
    }
    if (hash != std::string_view::npos) {
        out += '#';
        out += text::percent_encode(fragment, fragment_keep);
    }
    return out;
}

std::string with_legacy_querystring(std::string_view url)
{
    const std::size_t q = url.find('?');
    if (q == std::string_view::npos || q == url.size() - 1) {
        return std::string(url);
    }
    // querystring.parse: keys keep first-appearance order, except that array-index keys come
    // first in ascending numeric order (JavaScript property order); at most 1000 pairs.
    struct entry {
        std::string key;
        std::vector<std::string> values;
    };
    std::vector<entry> entries;
    std::string_view qs = url.substr(q + 1);
    std::size_t pairs = 0;
    while (!qs.empty() && pairs < 1000) {
        const std::size_t amp = qs.find('&');
        const std::string_view piece = qs.substr(0, amp);
        qs = amp == std::string_view::npos ? std::string_view{} : qs.substr(amp + 1);
        if (piece.empty()) {
            continue;
        }
        ++pairs;
        const std::size_t eq = piece.find('=');
        std::string key = text::repair_utf8(text::percent_decode(piece.substr(0, eq), true));
        std::string value = eq == std::string_view::npos
            ? std::string{}
            : text::repair_utf8(text::percent_decode(piece.substr(eq + 1), true));
        auto it = std::find_if(entries.begin(), entries.end(), [&](const entry& e) { return e.key == key; });
        if (it == entries.end()) {
            entries.push_back({std::move(key), {std::move(value)}});
        } else {
            it->values.push_back(std::move(value));
        }
    }
    std::stable_sort(entries.begin(), entries.end(), [](const entry& a, const entry& b) {
        const auto ia = array_index(a.key);
        const auto ib = array_index(b.key);
        if (ia && ib) {
            return *ia < *ib;
        }
        return ia.has_value() && !ib.has_value();
    });
    std::string out(url.substr(0, q + 1));
    bool first = true;
    for (const auto& e : entries) {
        const std::string key = text::percent_encode(e.key, text::is_querystring_safe);
        for (const auto& v : e.values) {
            if (!first) {
                out.push_back('&');
            }
            first = false;
            out += key;
            out.push_back('=');
            out += text::percent_encode(v, text::is_querystring_safe);
        }
    }
    return out;
}

namespace {

void push_unique(std::vector<std::string>& out, std::string s)
{
    if (std::find(out.begin(), out.end(), s) == out.end()) {
        out.push_back(std::move(s));
    }
}

} // namespace

std::vector<std::string> received_forms(std::string_view url)
{
    std::vector<std::string> out;
    push_unique(out, remove_port(url));
    push_unique(out, add_default_port(url));
    return out;
}

std::vector<std::string> normalized_forms(std::string_view url)
{
    std::vector<std::string> out;
    if (const auto normalized = normalize(url)) {
        const std::string without = remove_port(*normalized);
        const std::string with = add_default_port(*normalized);
        push_unique(out, without);
        push_unique(out, with);
        push_unique(out, with_legacy_querystring(without));
        push_unique(out, with_legacy_querystring(with));
    }
    return out;
}

std::vector<std::string> candidates(std::string_view url)
{
    std::vector<std::string> out = received_forms(url);
    for (auto& s : normalized_forms(url)) {
        push_unique(out, std::move(s));
    }
    return out;
}

} // namespace switchboard::webhook_url
