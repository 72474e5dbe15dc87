// Twilio request signatures.
#include "protocol/twilio/twilio_signature.hpp"

#include "protocol/core/crypto.hpp"
#include "protocol/core/error.hpp"
#include "protocol/core/text.hpp"
#include "protocol/events/webhook_url.hpp"

#include <algorithm>

namespace switchboard::twilio_signature {
namespace {

// Base64 of HMAC-SHA1(token, url + suffix): 28 characters, on the stack.
crypto::base64_text<20> sign(std::string_view token, std::string_view url, std::string_view suffix)
{
    return crypto::base64_array(crypto::hmac_sha1(token, url, suffix));
}

bool any_token_matches(
    std::span<const std::string> tokens, std::string_view signature, std::string_view url, std::string_view suffix)
{
    bool ok = false;
    for (const auto& token : tokens) {
        // No early exit on a match: the work done does not depend on which token matched.
        const auto expected = sign(token, url, suffix);
        ok = crypto::constant_time_equal(signature, crypto::as_view(expected)) || ok;
    }
    return ok;
}

// The query string of a URL: after the first '?', before any '#'.
std::string_view query_of(std::string_view url) noexcept
{
    const std::size_t q = url.find('?');
    if (q == std::string_view::npos) {
        return {};
    }
    const std::string_view query = url.substr(q + 1);
    return query.substr(0, query.find('#'));
}

// URLSearchParams.get(name): the first value, decoded.
std::string query_param(std::string_view url, std::string_view name)
{
    return std::string(parse_form(query_of(url)).get(name));
}

} // namespace

std::string params_suffix(const form_params& params)
{
    std::vector<form_params::entry> items;
    items.reserve(params.size());
    std::size_t total = 0;
    for (std::size_t i = 0; i < params.size(); ++i) {
        items.push_back(params[i]);
        total += items.back().name.size() + items.back().value.size();
    }
    std::sort(items.begin(), items.end(), [](const form_params::entry& x, const form_params::entry& y) {
        if (x.name != y.name) {
            return text::utf16_less(x.name, y.name);
        }
        return text::utf16_less(x.value, y.value);
    });
    std::string out;
    out.reserve(total);
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0 && items[i].name == items[i - 1].name && items[i].value == items[i - 1].value) {
            continue;
        }
        out.append(items[i].name).append(items[i].value);
    }
    return out;
}

std::string compute(std::string_view auth_token, std::string_view url, const form_params& params)
{
    return std::string(crypto::as_view(sign(auth_token, url, params_suffix(params))));
}

bool matches(
    std::span<const std::string> tokens, std::string_view signature, std::string_view url, const form_params& params)
{
    const std::string suffix = params_suffix(params);
    // The received forms first: the normalised ones are only needed for unusual URLs.
    for (const auto& candidate : webhook_url::received_forms(url)) {
        if (any_token_matches(tokens, signature, candidate, suffix)) {
            return true;
        }
    }
    for (const auto& candidate : webhook_url::normalized_forms(url)) {
        if (any_token_matches(tokens, signature, candidate, suffix)) {
            return true;
        }
    }
    return false;
}

verdict verify(std::span<const std::string> tokens, const webhook_request& request)
{
    verdict out;
    if (request.signature.empty()) {
        out.ec = error::signature_missing;
        return out;
    }
    // twilio-node: a URL mentioning bodySHA256 is signed alone and the hash covers the raw body.
    const std::size_t body_hash_at = request.url.find("bodySHA256");
    if (body_hash_at != std::string_view::npos && body_hash_at > 0) {
        if (!matches(tokens, request.signature, request.url, form_params{})) {
            out.ec = error::signature_mismatch;
            return out;
        }
        const std::string expected = crypto::hex_lower(crypto::sha256(request.body));
        if (!crypto::constant_time_equal(query_param(request.url, "bodySHA256"), expected)) {
            out.ec = error::body_hash_mismatch;
            return out;
        }
        out.params = parse_form(query_of(request.url));
        return out;
    }
    form_params signed_params;
    if (request.has_body_params && is_form_content_type(request.content_type)) {
        signed_params = parse_form(request.body);
    }
    if (!matches(tokens, request.signature, request.url, signed_params)) {
        out.ec = error::signature_mismatch;
        return out;
    }
    if (request.has_body_params) {
        out.params = std::move(signed_params);
    } else {
        out.params = parse_form(query_of(request.url));
    }
    return out;
}

} // namespace switchboard::twilio_signature
