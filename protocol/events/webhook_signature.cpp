// Standard Webhooks signing and verification.
#include "protocol/events/webhook_signature.hpp"

#include "protocol/core/crypto.hpp"
#include "protocol/core/error.hpp"

namespace switchboard::webhook_signature {

boost::system::result<std::string> parse_secret(std::string_view secret, std::string* problem)
{
    constexpr std::string_view prefix = "whsec_";
    if (secret.substr(0, prefix.size()) == prefix) {
        secret.remove_prefix(prefix.size());
    }
    auto key = crypto::base64_decode(secret);
    if (!key || key->size() < min_key_bytes) {
        if (problem != nullptr) {
            *problem = !key ? std::string("is not whsec_ followed by base64")
                            : "decodes to " + std::to_string(key->size()) + (key->size() == 1 ? " byte" : " bytes")
                    + " of key; at least " + std::to_string(min_key_bytes)
                    + " are required (Standard Webhooks: 24 to 64 random bytes)";
        }
        return error::invalid_config;
    }
    return std::move(*key);
}

std::string sign(std::string_view key, std::string_view id, std::int64_t timestamp, std::string_view body)
{
    std::string data;
    const std::string ts = std::to_string(timestamp);
    data.reserve(id.size() + ts.size() + body.size() + 2);
    data.append(id).append(".").append(ts).append(".").append(body);
    return "v1," + crypto::base64_encode(crypto::hmac_sha256(key, data));
}

std::string sign(std::span<const std::string> keys, std::string_view id, std::int64_t timestamp, std::string_view body)
{
    std::string out;
    for (const std::string& key : keys) {
        if (!out.empty()) {
            out += ' ';
        }
        out += sign(key, id, timestamp, body);
    }
    return out;
}

bool verify(
    std::string_view key, std::string_view id, std::int64_t timestamp, std::string_view body, std::string_view header)
{
    const std::string expected = sign(key, id, timestamp, body);
    bool ok = false;
    while (!header.empty()) {
        const std::size_t space = header.find(' ');
        const std::string_view entry = header.substr(0, space);
        header = space == std::string_view::npos ? std::string_view{} : header.substr(space + 1);
        ok = crypto::constant_time_equal(entry, expected) || ok;
    }
    return ok;
}

std::string generate_secret(std::string_view random_bytes)
{
    return "whsec_"
        + crypto::base64_encode(reinterpret_cast<const unsigned char*>(random_bytes.data()), random_bytes.size());
}

} // namespace switchboard::webhook_signature
