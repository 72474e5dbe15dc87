// OpenSSL-backed implementations of protocol/core/crypto.hpp.
#include "protocol/core/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace switchboard::crypto {
namespace {

template <std::size_t N>
std::array<unsigned char, N> hmac(const EVP_MD* md, std::string_view key, std::string_view data)
{
    std::array<unsigned char, N> out{};
    unsigned int len = 0;
    if (HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out.data(), &len)
            == nullptr
        || len != N) {
        throw std::runtime_error("HMAC failed");
    }
    return out;
}

} // namespace

namespace {

// HMAC-SHA1 with the key's inner and outer pad states computed once per key and thread:
// OpenSSL 3's one-shot HMAC() fetches the digest and re-keys on every call, which costs more
// than hashing a webhook. Auth tokens are few and fixed, so a tiny per-thread cache fits.
class sha1_hmac_cache {
public:
    sha1_hmac_cache() : md_(EVP_MD_fetch(nullptr, "SHA1", nullptr)), work_(EVP_MD_CTX_new())
    {
        if (md_ == nullptr || work_ == nullptr) {
            throw std::runtime_error("SHA1 unavailable");
        }
    }
    sha1_hmac_cache(const sha1_hmac_cache&) = delete;
    sha1_hmac_cache& operator=(const sha1_hmac_cache&) = delete;
    ~sha1_hmac_cache()
    {
        for (auto& k : keys_) {
            EVP_MD_CTX_free(k.inner);
            EVP_MD_CTX_free(k.outer);
        }
        EVP_MD_CTX_free(work_);
        EVP_MD_free(md_);
    }

    sha1_digest compute(std::string_view key, std::string_view data, std::string_view more = {})
    {
        const keyed& k = find(key);
        sha1_digest inner{};
        sha1_digest out{};
        unsigned int len = 0;
        const bool ok = EVP_MD_CTX_copy_ex(work_, k.inner) == 1
            && EVP_DigestUpdate(work_, data.data(), data.size()) == 1
            && EVP_DigestUpdate(work_, more.data(), more.size()) == 1
            && EVP_DigestFinal_ex(work_, inner.data(), &len) == 1 && EVP_MD_CTX_copy_ex(work_, k.outer) == 1
            && EVP_DigestUpdate(work_, inner.data(), inner.size()) == 1
            && EVP_DigestFinal_ex(work_, out.data(), &len) == 1;
        if (!ok) {
            throw std::runtime_error("HMAC-SHA1 failed");
        }
        return out;
    }

private:
    struct keyed {
        std::string key;
        EVP_MD_CTX* inner;
        EVP_MD_CTX* outer;
    };

    const keyed& find(std::string_view key)
    {
        for (const auto& k : keys_) {
            if (k.key == key) {
                return k;
            }
        }
        if (keys_.size() == max_keys) {
            EVP_MD_CTX_free(keys_.front().inner);
            EVP_MD_CTX_free(keys_.front().outer);
            keys_.erase(keys_.begin());
        }
        // RFC 2104: keys longer than the block are hashed first; then zero-padded to 64 bytes.
        std::array<unsigned char, 64> block{};
        if (key.size() > block.size()) {
            SHA1(reinterpret_cast<const unsigned char*>(key.data()), key.size(), block.data());
        } else {
            std::copy(key.begin(), key.end(), block.begin());
        }
        std::array<unsigned char, 64> ipad{};
        std::array<unsigned char, 64> opad{};
        for (std::size_t i = 0; i < block.size(); ++i) {
            ipad[i] = static_cast<unsigned char>(block[i] ^ 0x36);
            opad[i] = static_cast<unsigned char>(block[i] ^ 0x5c);
        }
        keyed k{std::string(key), EVP_MD_CTX_new(), EVP_MD_CTX_new()};
        const bool ok = k.inner != nullptr && k.outer != nullptr && EVP_DigestInit_ex(k.inner, md_, nullptr) == 1
            && EVP_DigestUpdate(k.inner, ipad.data(), ipad.size()) == 1 && EVP_DigestInit_ex(k.outer, md_, nullptr) == 1
            && EVP_DigestUpdate(k.outer, opad.data(), opad.size()) == 1;
        OPENSSL_cleanse(block.data(), block.size());
        OPENSSL_cleanse(ipad.data(), ipad.size());
        OPENSSL_cleanse(opad.data(), opad.size());
        if (!ok) {
            EVP_MD_CTX_free(k.inner);
            EVP_MD_CTX_free(k.outer);
            throw std::runtime_error("HMAC-SHA1 key setup failed");
        }
        keys_.push_back(std::move(k));
        return keys_.back();
    }

    static constexpr std::size_t max_keys = 8;
    EVP_MD* md_;
    EVP_MD_CTX* work_;
    std::vector<keyed> keys_;
};

} // namespace

namespace {

sha1_hmac_cache& this_threads_hmac_cache()
{
    thread_local sha1_hmac_cache cache;
    return cache;
}

} // namespace

sha1_digest hmac_sha1(std::string_view key, std::string_view data)
{
    return this_threads_hmac_cache().compute(key, data);
}

sha1_digest hmac_sha1(std::string_view key, std::string_view data, std::string_view more)
{
    return this_threads_hmac_cache().compute(key, data, more);
}

sha256_digest hmac_sha256(std::string_view key, std::string_view data)
{
    return hmac<32>(EVP_sha256(), key, data);
}

sha256_digest sha256(std::string_view data)
{
    sha256_digest out{};
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
    return out;
}

sha1_digest sha1(std::string_view data)
{
    sha1_digest out{};
    SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
    return out;
}

std::string hex_lower(const unsigned char* data, std::size_t size)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(size * 2, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0xf];
    }
    return out;
}

void base64_encode_to(char* out, const unsigned char* data, std::size_t size) noexcept
{
    // EVP_EncodeBlock writes a terminating NUL after the 4*ceil(n/3) characters: not into out.
    constexpr std::size_t chunk = 48; // 64 characters a step
    std::array<unsigned char, 4 * chunk / 3 + 1> buf{};
    while (size > 0) {
        const std::size_t n = std::min(size, chunk);
        const int written = EVP_EncodeBlock(buf.data(), data, static_cast<int>(n));
        std::memcpy(out, buf.data(), static_cast<std::size_t>(written));
        out += written;
        data += n;
        size -= n;
    }
}

std::string base64_encode(const unsigned char* data, std::size_t size)
{
    std::string out(4 * ((size + 2) / 3), '\0');
    base64_encode_to(out.data(), data, size);
    return out;
}

std::optional<std::string> base64_decode(std::string_view text)
{
    // RFC 4648 §4, strictly: whole quanta, alphabet characters only, at most two '=' and only at
    // the end (OpenSSL's EVP_DecodeBlock counts padding as data, and trims whitespace first, so
    // its length cannot be trusted). Bits after the last byte are ignored, as OpenSSL did.
    static constexpr auto table = [] {
        std::array<signed char, 256> t{};
        t.fill(-1);
        constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (std::size_t i = 0; i < alphabet.size(); ++i) {
            t[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
        }
        return t;
    }();
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t padding = 0;
    while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
        ++padding;
    }
    const std::string_view digits = text.substr(0, text.size() - padding);
    std::string out;
    out.reserve(digits.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char c : digits) {
        const int v = table[static_cast<unsigned char>(c)];
        if (v < 0) {
            return std::nullopt; // includes a third '=' and '=' before the end
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_bytes(std::size_t n)
{
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
    return out;
}

} // namespace switchboard::crypto
