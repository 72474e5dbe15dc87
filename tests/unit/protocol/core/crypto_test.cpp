// protocol/core/crypto.cpp: base64 decoding and encoding.
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

BOOST_AUTO_TEST_SUITE_END()
