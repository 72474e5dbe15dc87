// Idempotency-Key rules.
#include "protocol/phone_api/idempotency.hpp"

#include "protocol/core/crypto.hpp"
#include "protocol/core/error.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace switchboard::idempotency {

boost::system::result<std::string> parse_key(std::string_view header, std::string* problem)
{
    std::string_view key = header;
    if (key.size() >= 2 && key.front() == '"' && key.back() == '"') {
        key = key.substr(1, key.size() - 2);
    }
    const bool visible = std::all_of(key.begin(), key.end(), [](char c) { return c > ' ' && c < 0x7f && c != '"'; });
    if (key.empty() || key.size() > 255 || !visible) {
        if (problem != nullptr) {
            *problem = "Idempotency-Key must be 1 to 255 visible ASCII characters (e.g. a UUID), optionally in "
                       "double quotes";
        }
        return make_error_code(error::invalid_parameter);
    }
    return std::string(key);
}

namespace {

std::string length_prefixed(std::initializer_list<std::string_view> parts)
{
    std::string out;
    for (const std::string_view part : parts) {
        out.append(std::to_string(part.size())).append(":").append(part);
    }
    return out;
}

} // namespace

std::string scope(std::string_view subject, std::string_view key)
{
    return length_prefixed({subject, key});
}

std::string fingerprint(std::string_view method, std::string_view target, std::string_view body)
{
    // Length-prefixed: no split of the same bytes gives the same fingerprint.
    const std::string data = length_prefixed({method, target, body});
    return crypto::hex_lower(crypto::sha256(data));
}

decision begin(
    const std::optional<record>& existing, std::string_view fingerprint, std::int64_t now_ms, const policy& p)
{
    const bool live
        = existing && existing->expires_at_ms > now_ms && (existing->status != 0 || existing->lease_until_ms > now_ms);
    decision d;
    if (!live) {
        d.what = verdict::proceed;
        d.write = record{std::string(fingerprint), now_ms + p.ttl_ms, now_ms + p.lease_ms, 0, {}};
        return d;
    }
    if (existing->fingerprint != fingerprint) {
        d.what = verdict::mismatch;
    } else if (existing->status == 0) {
        d.what = verdict::in_flight;
    } else {
        d.what = verdict::replay;
        d.existing = *existing;
    }
    return d;
}

bool keeps(int status) noexcept
{
    return status != 429 && status != 503;
}

std::optional<record> finish(const record& in_flight, int status, std::string body)
{
    if (!keeps(status)) {
        return std::nullopt;
    }
    record r = in_flight;
    r.status = status;
    r.lease_until_ms = 0;
    r.body = std::move(body);
    return r;
}

std::string encode(const record& r)
{
    boost::json::object o;
    o["f"] = r.fingerprint;
    o["e"] = r.expires_at_ms;
    o["l"] = r.lease_until_ms;
    o["s"] = r.status;
    o["b"] = r.body;
    return boost::json::serialize(o);
}

std::optional<record> decode(std::string_view text)
{
    boost::system::error_code ec;
    const auto v = boost::json::parse(text, ec);
    const auto* o = ec ? nullptr : v.if_object();
    if (o == nullptr) {
        return std::nullopt;
    }
    const auto* f = o->if_contains("f");
    const auto* e = o->if_contains("e");
    const auto* l = o->if_contains("l");
    const auto* s = o->if_contains("s");
    const auto* b = o->if_contains("b");
    if (f == nullptr || !f->is_string() || e == nullptr || !e->is_int64() || l == nullptr || !l->is_int64()
        || s == nullptr || !s->is_int64() || b == nullptr || !b->is_string()) {
        return std::nullopt;
    }
    return record{std::string(f->get_string()), e->get_int64(), l->get_int64(), static_cast<int>(s->get_int64()),
        std::string(b->get_string())};
}

} // namespace switchboard::idempotency
