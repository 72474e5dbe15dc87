// Hashes, HMACs, base64 and constant-time comparison (OpenSSL libcrypto; no I/O).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::crypto {

using sha1_digest = std::array<unsigned char, 20>;
using sha256_digest = std::array<unsigned char, 32>;

sha1_digest hmac_sha1(std::string_view key, std::string_view data);
// Over data + more, without joining them first.
sha1_digest hmac_sha1(std::string_view key, std::string_view data, std::string_view more);
sha256_digest hmac_sha256(std::string_view key, std::string_view data);
sha256_digest sha256(std::string_view data);
sha1_digest sha1(std::string_view data); // names a Lua script in Redis (EVALSHA)

std::string hex_lower(const unsigned char* data, std::size_t size);
std::string base64_encode(const unsigned char* data, std::size_t size);
std::optional<std::string> base64_decode(std::string_view text);

template <std::size_t N> std::string base64_encode(const std::array<unsigned char, N>& digest)
{
    return base64_encode(digest.data(), N);
}

// Base64 of a digest in a fixed buffer (no allocation); view it with as_view().
template <std::size_t N> using base64_text = std::array<char, 4 * ((N + 2) / 3)>;
void base64_encode_to(char* out, const unsigned char* data, std::size_t size) noexcept;
template <std::size_t N> base64_text<N> base64_array(const std::array<unsigned char, N>& digest) noexcept
{
    base64_text<N> out{};
    base64_encode_to(out.data(), digest.data(), N);
    return out;
}
template <std::size_t M> std::string_view as_view(const std::array<char, M>& text) noexcept
{
    return {text.data(), M};
}

template <std::size_t N> std::string hex_lower(const std::array<unsigned char, N>& digest)
{
    return hex_lower(digest.data(), N);
}

// Equal length and content, in time that depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// Cryptographically strong random bytes (OpenSSL's DRBG).
std::string random_bytes(std::size_t n);

} // namespace switchboard::crypto
