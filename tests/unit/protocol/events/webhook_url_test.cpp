// URL forms: expectations are what Node's WHATWG URL and querystring produce for the same input.
#include "protocol/events/webhook_url.hpp"

#include <boost/test/unit_test.hpp>

namespace wu = switchboard::webhook_url;

BOOST_AUTO_TEST_SUITE(webhook_url)

BOOST_AUTO_TEST_CASE(split_keeps_bytes)
{
    const auto p = wu::split("HTTPS://u:p@Ex.com:8443/a?b#c");
    BOOST_REQUIRE(p);
    BOOST_TEST(p->scheme == "HTTPS://");
    BOOST_TEST(p->userinfo == "u:p@");
    BOOST_TEST(p->host == "Ex.com");
    BOOST_TEST(p->port == ":8443");
    BOOST_TEST(p->rest == "/a?b#c");
    BOOST_TEST(!wu::split("example.com/x"));
    const auto v6 = wu::split("http://[::1]:80/x");
    BOOST_REQUIRE(v6);
    BOOST_TEST(v6->host == "[::1]");
    BOOST_TEST(v6->port == ":80");
}

BOOST_AUTO_TEST_CASE(ports)
{
    BOOST_TEST(wu::add_default_port("https://a.com/x") == "https://a.com:443/x");
    BOOST_TEST(wu::add_default_port("http://a.com?q") == "http://a.com:80?q");
    BOOST_TEST(wu::add_default_port("https://a.com:8443/x") == "https://a.com:8443/x");
    BOOST_TEST(wu::remove_port("https://a.com:8443/x") == "https://a.com/x");
    BOOST_TEST(wu::remove_port("https://a.com/x") == "https://a.com/x");
}

BOOST_AUTO_TEST_CASE(normalize_like_whatwg)
{
    // node -e 'console.log(new URL(u).toString())'
    BOOST_TEST(*wu::normalize("HTTPS://Ex.com:443/a/./b/../c%2e/d\\e/ f{}`\"<>?q=' \"<>{}`|^%zz#x")
        == "https://ex.com/a/c%2e/d/e/%20f%7B%7D%60%22%3C%3E?q=%27%20%22%3C%3E{}`|^%zz#x");
    BOOST_TEST(*wu::normalize("https://ex.com:8443?x=1") == "https://ex.com:8443/?x=1");
    BOOST_TEST(*wu::normalize("http://ex.com:080/a/..") == "http://ex.com/");
    BOOST_TEST(*wu::normalize("https://ex.com/a/%2E%2e/b/.") == "https://ex.com/b/");
    BOOST_TEST(*wu::normalize("https://ex.com/caf\xC3\xA9?q=\xC3\xA9") == "https://ex.com/caf%C3%A9?q=%C3%A9");
    // Node's parser leaves these alone (its first "/." is not a dot segment): so do we.
    BOOST_TEST(*wu::normalize("http://a.com/a/.b/..") == "http://a.com/a/.b/..");
    BOOST_TEST(*wu::normalize("http://a.com/a/.bc/x/../y") == "http://a.com/a/.bc/x/../y");
    BOOST_TEST(*wu::normalize("http://a.com/.b/..") == "http://a.com/");
    BOOST_TEST(*wu::normalize("http://a.com/a/b./..") == "http://a.com/a/");
    BOOST_TEST(*wu::normalize("http://a.com/a/.b%2e/..") == "http://a.com/a/");
    BOOST_TEST(*wu::normalize("http://a.com/a/b/../.c/..") == "http://a.com/a/");
    BOOST_TEST(!wu::normalize("ftp://ex.com/x"));
    BOOST_TEST(!wu::normalize("https://ex.com:99999/x"));
}

BOOST_AUTO_TEST_CASE(legacy_querystring)
{
    // node -e 'qs.stringify(qs.parse("b=1&1=x&a=2&b=3&10=y&01=z"))'
    BOOST_TEST(wu::with_legacy_querystring("https://e.com/p?b=1&1=x&a=2&b=3&10=y&01=z")
        == "https://e.com/p?1=x&10=y&b=1&b=3&a=2&01=z");
    BOOST_TEST(wu::with_legacy_querystring("https://e.com/p?q=it's+a%20b&&e") == "https://e.com/p?q=it's%20a%20b&e=");
    BOOST_TEST(wu::with_legacy_querystring("https://e.com/p?") == "https://e.com/p?");
    BOOST_TEST(wu::with_legacy_querystring("https://e.com/p") == "https://e.com/p");
}

BOOST_AUTO_TEST_CASE(candidates_are_distinct_and_received_first)
{
    const auto c = wu::candidates("https://e.com/p?q='");
    BOOST_REQUIRE(c.size() >= 3);
    BOOST_TEST(c[0] == "https://e.com/p?q='");
    BOOST_TEST(c[1] == "https://e.com:443/p?q='");
    BOOST_TEST((std::find(c.begin(), c.end(), "https://e.com/p?q=%27") != c.end()));
    for (std::size_t i = 0; i < c.size(); ++i) {
        for (std::size_t j = i + 1; j < c.size(); ++j) {
            BOOST_TEST(c[i] != c[j]);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
