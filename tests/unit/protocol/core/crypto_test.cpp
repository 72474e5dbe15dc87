// protocol/core/crypto.cpp: base64 decoding and encoding, HMAC-SHA1 over two parts.
#include "protocol/core/crypto.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>

using namespace switchboard;

BOOST_AUTO_TEST_SUITE(crypto_base64)

BOOST_AUTO_TEST_CASE(base64_decoding_is_strict_and_total)
{
    BOOST_TEST(crypto::base64_decode("").value().empty());
    BOOST_TEST(crypto::base64_decode("QQ==").value() == "A");
    BOOST_TEST(crypto::base64_decode("QUI=").value() == "AB");
    BOOST_TEST(crypto::base64_decode("QUJD").value() == "ABC");
    BOOST_TEST(crypto::base64_decode("+/+/").value() == "\xfb\xff\xbf");
    for (const std::string_view bad :
        {"====", "A===", "QQ=A", "QQ==QUJD", "QUJ", " QUJD   ", "QUJ\n", "\tQUJ", "QUJ-"}) {
        BOOST_TEST(!crypto::base64_decode(bad), bad);
    }
    const std::string all = [] {
        std::string s;
        for (int i = 0; i < 256; ++i) {
            s.push_back(static_cast<char>(i));
        }
        return s;
    }();
    for (std::size_t n = 0; n <= all.size(); n += 37) {
        const auto* bytes = reinterpret_cast<const unsigned char*>(all.data());
        BOOST_TEST(crypto::base64_decode(crypto::base64_encode(bytes, n)).value() == all.substr(0, n));
    }
}

BOOST_AUTO_TEST_CASE(encoding_into_a_buffer_fills_it_exactly)
{
    // Digest sizes and more: the buffer is encoded 48 bytes a step, and nothing is written
    // past its 4 * ceil(n / 3) characters (OpenSSL's terminating NUL stays out).
    std::string all;
    for (int i = 0; i < 200; ++i) {
        all.push_back(static_cast<char>(i * 37 + 11));
    }
    const auto* bytes = reinterpret_cast<const unsigned char*>(all.data());
    for (std::size_t n = 0; n <= all.size(); ++n) {
        const std::size_t length = 4 * ((n + 2) / 3);
        std::string out(length + 1, '?');
        crypto::base64_encode_to(out.data(), bytes, n);
        BOOST_TEST(out[length] == '?');
        out.resize(length);
        BOOST_TEST(crypto::base64_decode(out).value() == all.substr(0, n));
        BOOST_TEST(out == crypto::base64_encode(bytes, n));
    }
    const crypto::sha1_digest d = crypto::sha1("abc");
    BOOST_TEST(crypto::as_view(crypto::base64_array(d)) == "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
}

BOOST_AUTO_TEST_CASE(hmac_over_two_parts_equals_hmac_over_their_join)
{
    // RFC 2202 test case 2, split anywhere; and a key of more than one block.
    const std::string data = "what do ya want for nothing?";
    for (std::size_t cut = 0; cut <= data.size(); ++cut) {
        BOOST_TEST(crypto::base64_encode(crypto::hmac_sha1("Jefe", data.substr(0, cut), data.substr(cut)))
            == "7/zfauXrL6LSdBbV8YTfnCWafHk=");
    }
    const std::string long_key(100, 'k');
    BOOST_TEST(crypto::hmac_sha1(long_key, "ab", "cd") == crypto::hmac_sha1(long_key, "abcd"));
}

BOOST_AUTO_TEST_SUITE_END()
