// Configuration: defaults, validation messages, secrets from files, the JSON overlay.
#include "protocol/events/call_event.hpp"
#include "service/app/config.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

using namespace switchboard;

namespace {

load_result load(std::map<std::string, std::string> env, load_options opts = {})
{
    for (const auto& [k, v] : env) {
        opts.env_names.push_back(k);
    }
    return load_config(
        [env](const std::string& name) -> std::optional<std::string> {
            const auto it = env.find(name);
            return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
        },
        opts);
}

bool has_error(const load_result& r, std::string_view prefix)
{
    for (const auto& e : r.errors) {
        if (e.rfind(prefix, 0) == 0) {
            return true;
        }
    }
    return false;
}

std::string temp_file(const std::string& name, const std::string& content)
{
    const auto path = std::filesystem::temp_directory_path() / ("switchboard-config-test-" + name);
    std::ofstream(path) << content;
    return path.string();
}

} // namespace

BOOST_AUTO_TEST_SUITE(configuration)

BOOST_AUTO_TEST_CASE(defaults)
{
    const auto r = load({{"TWILIO_AUTH_TOKEN", "t"}});
    BOOST_TEST(r.errors.empty());
    BOOST_TEST(r.cfg.listen.port == 8080);
    BOOST_TEST(r.cfg.admin_listen.port == 9090);
    BOOST_TEST(r.cfg.rate_limit_per_minute == 60u);
    BOOST_TEST(r.cfg.auth_tokens.size() == 1u);
    BOOST_TEST(!r.cfg.tls_enabled());
}

// The table (service/app/settings.cpp) is where a default is defined; the loader's own
// fallbacks must say the same: giving each setting its table default explicitly changes nothing.
BOOST_AUTO_TEST_CASE(the_loader_defaults_are_the_table_defaults)
{
    const std::map<std::string, std::string> base{{"TWILIO_AUTH_TOKEN", "t"}};
    const auto plain = load(base);
    BOOST_REQUIRE(plain.errors.empty());
    std::size_t checked = 0;
    for (const auto& s : settings()) {
        if (*s.default_value == 0) {
            continue;
        }
        BOOST_TEST_CONTEXT(s.name << "=" << s.default_value)
        {
            auto env = base;
            env[s.name] = s.default_value;
            const auto explicit_default = load(env);
            BOOST_TEST(explicit_default.errors.empty(), "the table's default is refused by the loader");
            BOOST_TEST((explicit_default.cfg == plain.cfg), "the loader's fallback differs from the table's default");
            ++checked;
        }
    }
    BOOST_TEST(checked > 30u); // 36 settings have a non-empty default today
}

BOOST_AUTO_TEST_CASE(fail_closed_without_token_unless_dev)
{
    BOOST_TEST(has_error(load({}), "TWILIO_AUTH_TOKEN: required"));
    load_options dev;
    dev.dev = true;
    const auto r = load({}, dev);
    BOOST_TEST(r.errors.empty());
    BOOST_TEST(r.cfg.auth_token_generated);
    BOOST_TEST(r.cfg.auth_tokens.front().size() == 32u);
}

BOOST_AUTO_TEST_CASE(one_message_per_bad_value)
{
    const auto r = load({{"TWILIO_AUTH_TOKEN", "t"}, {"SWITCHBOARD_LISTEN", "nowhere"},
        {"SWITCHBOARD_ADMIN_LISTEN", "127.0.0.1:70000"}, {"SWITCHBOARD_THREADS", "-1"},
        {"SWITCHBOARD_PUBLIC_URL", "ftp://x"}, {"SWITCHBOARD_TLS_CERT", "/nonexistent.pem"},
        {"SWITCHBOARD_DRAIN_TIMEOUT_SECONDS", "0"}, {"SWITCHBOARD_LOG_LEVEL", "chatty"}, {"SWITCHBOARD_UNKNOWN", "1"}});
    for (const char* key : {"SWITCHBOARD_LISTEN:", "SWITCHBOARD_ADMIN_LISTEN:", "SWITCHBOARD_THREADS:",
             "SWITCHBOARD_PUBLIC_URL:", "SWITCHBOARD_TLS_KEY:", "SWITCHBOARD_TLS_CERT:",
             "SWITCHBOARD_DRAIN_TIMEOUT_SECONDS:", "SWITCHBOARD_LOG_LEVEL:", "SWITCHBOARD_UNKNOWN:"}) {
        BOOST_TEST(has_error(r, key), key);
    }
}

// A refused secret is named, never quoted: the log line of a failed start-up must not leak it.
BOOST_AUTO_TEST_CASE(refusals_never_quote_a_secret)
{
    const std::string jwt = "jwt-secret-Xq7v";
    const std::string admin = "admin-token-Zk3p";
    const std::string redis = "redis-password-Wm9t";
    const auto r = load({{"TWILIO_AUTH_TOKEN", "twilio-token-Hy4b"}, {"SWITCHBOARD_JWT_SECRET", jwt},
        {"SWITCHBOARD_ADMIN_TOKEN", admin}, {"SWITCHBOARD_STORE", "redis://:" + redis + "@127.0.0.1:notaport"}});
    BOOST_TEST(has_error(r, "SWITCHBOARD_JWT_SECRET:"));
    BOOST_TEST(has_error(r, "SWITCHBOARD_ADMIN_TOKEN:"));
    BOOST_TEST(has_error(r, "SWITCHBOARD_STORE:"));
    for (const auto& e : r.errors) {
        for (const auto& secret : {jwt, admin, redis, std::string("twilio-token-Hy4b")}) {
            BOOST_TEST(e.find(secret) == std::string::npos, e);
        }
    }
}

BOOST_AUTO_TEST_CASE(kubernetes_service_links_are_not_typos)
{
    const auto r = load({{"TWILIO_AUTH_TOKEN", "t"}, {"SWITCHBOARD_SERVICE_HOST", "10.0.0.1"},
        {"SWITCHBOARD_SERVICE_PORT", "8080"}, {"SWITCHBOARD_SERVICE_PORT_ADMIN", "9090"},
        {"SWITCHBOARD_PORT", "tcp://10.0.0.1:8080"}, {"SWITCHBOARD_PORT_8080_TCP", "tcp://10.0.0.1:8080"},
        {"SWITCHBOARD_PORT_8080_TCP_PROTO", "tcp"}, {"SWITCHBOARD_PORT_9090_TCP_ADDR", "10.0.0.1"}});
    BOOST_TEST(r.errors.empty());
    BOOST_TEST(
        has_error(load({{"TWILIO_AUTH_TOKEN", "t"}, {"SWITCHBOARD_PORT_X_TCP", "1"}}), "SWITCHBOARD_PORT_X_TCP:"));
    BOOST_TEST(has_error(load({{"TWILIO_AUTH_TOKEN", "t"}, {"SWITCHBOARD_PORTS", "1"}}), "SWITCHBOARD_PORTS:"));
}

BOOST_AUTO_TEST_CASE(bearer_tokens_from_an_identity_provider_need_an_audience)
{
    const auto jwks = temp_file("jwks.json", R"({"keys":[]})");
    BOOST_TEST(has_error(load({{"TWILIO_AUTH_TOKEN", "t"}, {"SWITCHBOARD_JWT_JWKS_FILE", jwks}}),
        "SWITCHBOARD_JWT_AUDIENCE: is required with SWITCHBOARD_JWT_JWKS_FILE"));
    const auto r = load(
        {{"TWILIO_AUTH_TOKEN", "t"}, {"SWITCHBOARD_JWT_JWKS_FILE", jwks}, {"SWITCHBOARD_JWT_AUDIENCE", "switchboard"}});
    BOOST_TEST(r.errors.empty());
    BOOST_TEST(r.cfg.phone.jwt_max_lifetime.count() == 86400);
    // A shared secret is this service's own: no audience needed.
    BOOST_TEST(load({{"TWILIO_AUTH_TOKEN", "t"}, {"SWITCHBOARD_JWT_SECRET", std::string(32, 'k')}}).errors.empty());
    BOOST_TEST(has_error(load({{"TWILIO_AUTH_TOKEN", "t"}, {"SWITCHBOARD_JWT_MAX_LIFETIME_SECONDS", "99999999"}}),
        "SWITCHBOARD_JWT_MAX_LIFETIME_SECONDS:"));
    std::filesystem::remove(jwks);
}

BOOST_AUTO_TEST_CASE(listen_forms)
{
    const auto r
        = load({{"TWILIO_AUTH_TOKEN", "t"}, {"SWITCHBOARD_LISTEN", "[::]:0"}, {"SWITCHBOARD_ADMIN_LISTEN", ":9191"}});
    BOOST_TEST(r.errors.empty());
    BOOST_TEST(r.cfg.listen.host == "::");
    BOOST_TEST(r.cfg.listen.port == 0);
    BOOST_TEST(r.cfg.admin_listen.host == "0.0.0.0");
}

BOOST_AUTO_TEST_CASE(secrets_from_files_and_rotation)
{
    const auto primary = temp_file("primary", "from-file\n");
    const auto r = load({{"TWILIO_AUTH_TOKEN_FILE", primary}, {"TWILIO_AUTH_TOKEN_SECONDARY", "next"}});
    BOOST_TEST(r.errors.empty());
    BOOST_REQUIRE(r.cfg.auth_tokens.size() == 2u);
    BOOST_TEST(r.cfg.auth_tokens[0] == "from-file");
    BOOST_TEST(r.cfg.auth_tokens[1] == "next");
    BOOST_TEST(
        has_error(load({{"TWILIO_AUTH_TOKEN_FILE", primary}, {"TWILIO_AUTH_TOKEN", "x"}}), "TWILIO_AUTH_TOKEN:"));
    BOOST_TEST(has_error(load({{"TWILIO_AUTH_TOKEN_FILE", "/nonexistent"}}), "TWILIO_AUTH_TOKEN_FILE:"));
    std::filesystem::remove(primary);
}

BOOST_AUTO_TEST_CASE(json_file_overlays_the_environment)
{
    const auto file = temp_file("overlay.json",
        R"({"SWITCHBOARD_RATE_LIMIT_PER_MINUTE": 5, "SWITCHBOARD_PUBLIC_URL": "https://jobmatch.zip/"})");
    load_options opts;
    opts.config_file = file;
    const auto r = load({{"TWILIO_AUTH_TOKEN", "t"}, {"SWITCHBOARD_RATE_LIMIT_PER_MINUTE", "100"}}, opts);
    BOOST_TEST(r.errors.empty());
    BOOST_TEST(r.cfg.rate_limit_per_minute == 5u);
    BOOST_TEST(r.cfg.public_url == "https://jobmatch.zip");

    const auto unknown = temp_file("unknown.json", R"({"SWITCHBOARD_NOPE": 1, "SWITCHBOARD_THREADS": true})");
    opts.config_file = unknown;
    const auto bad = load({{"TWILIO_AUTH_TOKEN", "t"}}, opts);
    BOOST_TEST(has_error(bad, "--config: unknown key 'SWITCHBOARD_NOPE'"));
    BOOST_TEST(has_error(bad, "--config: SWITCHBOARD_THREADS must be"));
    std::filesystem::remove(file);
    std::filesystem::remove(unknown);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(configuration_docs)

BOOST_AUTO_TEST_CASE(subscriber_secrets_need_24_bytes_of_key)
{
    const auto with_secret = [](const std::string& secret) {
        return load({{"TWILIO_AUTH_TOKEN", "t"},
            {"SWITCHBOARD_SUBSCRIBERS",
                R"([{"name":"crm","url":"https://crm.example.com/h","secret":")" + secret + R"("}])"}});
    };
    const auto one_byte = with_secret("whsec_AQ==");
    BOOST_REQUIRE(one_byte.errors.size() == 1u);
    BOOST_TEST(
        one_byte.errors[0].find("SWITCHBOARD_SUBSCRIBERS[0] (crm): secret decodes to 1 byte of key; at least 24") == 0u,
        one_byte.errors[0]);
    BOOST_TEST(one_byte.errors[0].find("AQ==") == std::string::npos); // no secret in messages
    // 24 bytes: the shortest accepted.
    BOOST_TEST(with_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").errors.empty());
}

// Boost.URL 1.81 reads "http://h:a914/x" as an empty port with the rootless path "a914/x",
// "http://h:8080a/x" as port 8080 with the path "a/x", and wraps port 99999 (found by the
// subscribers fuzz target): such a subscriber was accepted and every delivery failed.
BOOST_AUTO_TEST_CASE(subscriber_urls_need_a_real_port_and_an_absolute_path)
{
    const auto with_url = [](const std::string& url) {
        return load({{"TWILIO_AUTH_TOKEN", "t"},
            {"SWITCHBOARD_SUBSCRIBERS",
                R"([{"name":"crm","url":")" + url + R"(","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}])"}});
    };
    for (const std::string bad : {"http://crm.example.com:a914/events", "http://crm.example.com:8080a/x",
             "http://crm.example.com:/x", "http://crm.example.com:99999/", "http://crm.example.com:0/"}) {
        const auto r = with_url(bad);
        BOOST_TEST(r.errors.size() == 1u, bad);
    }
    BOOST_TEST(with_url("https://crm.example.com:8443/events?x=1").errors.empty());
    BOOST_TEST(with_url("https://crm.example.com").errors.empty());
}

BOOST_AUTO_TEST_CASE(subscriber_headers_are_kept_in_order_and_checked)
{
    const auto with_headers = [](const std::string& headers) {
        return load({{"TWILIO_AUTH_TOKEN", "t"},
            {"SWITCHBOARD_SUBSCRIBERS",
                R"([{"name":"crm","url":"https://crm.example.com/h","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","headers":)"
                    + headers + "}]"}});
    };
    const auto ok = with_headers(R"({"X-Tenant":"t-1","Authorization":"Bearer a.b"})");
    BOOST_REQUIRE(ok.errors.empty());
    const auto& h = ok.cfg.subscribers.at(0).headers;
    BOOST_REQUIRE(h.size() == 2u);
    BOOST_TEST(h[0].first == "X-Tenant");
    BOOST_TEST(h[1].second == "Bearer a.b");
    const auto twice = with_headers(R"({"X-Tenant":"a","x-tenant":"b"})");
    BOOST_REQUIRE(twice.errors.size() == 1u);
    BOOST_TEST(twice.errors[0].find("(crm): headers: 'x-tenant' is given twice") != std::string::npos, twice.errors[0]);
    BOOST_TEST(with_headers(R"({"X-Count":3})").errors.at(0).find("must be a string") != std::string::npos);
    BOOST_TEST(with_headers(R"(["X-Tenant"])").errors.at(0).find("headers must be an object") != std::string::npos);
    BOOST_TEST(
        with_headers(R"({"Content-Length":"0"})").errors.at(0).find("written by Switchboard") != std::string::npos);
    std::string many = "{";
    for (int i = 0; i < 33; ++i) {
        many += (i ? "," : "") + std::string("\"X-") + std::to_string(i) + "\":\"v\"";
    }
    BOOST_TEST(with_headers(many + "}").errors.at(0).find("at most 32 headers") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_rotation_keeps_previous_secrets_until_they_expire)
{
    const std::string current = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const std::string old = "whsec_" + std::string(32, 'A');
    const auto with_previous = [&](const std::string& previous) {
        return load({{"TWILIO_AUTH_TOKEN", "t"},
            {"SWITCHBOARD_SUBSCRIBERS",
                R"([{"name":"crm","url":"https://crm.example.com/h","secret":")" + current + R"(","previous_secrets":)"
                    + previous + "}]"}});
    };
    const auto ok = with_previous(R"([{"secret":")" + old + R"(","expires_at":"2027-01-31T12:00:00+01:00"}])");
    BOOST_REQUIRE(ok.errors.empty());
    const auto& p = ok.cfg.subscribers.at(0).previous_secrets;
    BOOST_REQUIRE(p.size() == 1u);
    BOOST_TEST(p[0].secret == old);
    BOOST_TEST(format_timestamp(p[0].expires_at_ms) == "2027-01-31T11:00:00.000Z");
    const auto problem = [&](const std::string& previous) {
        const auto r = with_previous(previous);
        return r.errors.size() == 1u ? r.errors[0] : std::string("errors: ") + std::to_string(r.errors.size());
    };
    BOOST_TEST(
        problem(R"({"secret":"x"})").find("previous_secrets must be an array of at most 4") != std::string::npos);
    BOOST_TEST(problem(R"([{"secret":")" + old + R"("}])").find("previous_secrets[0] must be {") != std::string::npos);
    BOOST_TEST(problem(R"([{"secret":"whsec_AQ==","expires_at":"2027-01-31T12:00:00Z"}])")
                   .find("previous_secrets[0].secret decodes to 1 byte")
        != std::string::npos);
    BOOST_TEST(problem(R"([{"secret":")" + old + R"(","expires_at":"2027-01-31T12:00:00Z"},{"secret":")" + old
                   + R"(","expires_at":"2027-01-31T12:00:00Z"}])")
                   .find("previous_secrets[1].secret is the subscriber's secret or another previous one")
        != std::string::npos);
    const auto r = with_previous(R"([{"secret":"whsec_AQ==","expires_at":"2027-01-31T12:00:00Z"}])");
    BOOST_TEST(r.errors.at(0).find("AQ==") == std::string::npos); // no secret in messages
}

BOOST_AUTO_TEST_CASE(risky_settings_are_warned_about)
{
    const auto subscriber = [](const std::string& name, const std::string& url) {
        return R"({"name":")" + name + R"(","url":")" + url + R"(","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})";
    };
    const std::string subs = "[" + subscriber("crm", "http://crm.example.com/hooks") + ","
        + subscriber("local", "http://127.0.0.1:9000/h") + "," + subscriber("name", "http://localhost/h") + ","
        + subscriber("six", "http://[::1]:9000/h") + "," + subscriber("tls", "https://crm.example.com/h") + "]";
    const auto r = load({{"TWILIO_AUTH_TOKEN", "t"}, {"SWITCHBOARD_SUBSCRIBERS", subs}});
    BOOST_REQUIRE(r.errors.empty());
    std::vector<std::string> named;
    bool public_url = false;
    for (const auto& w : r.warnings) {
        for (const auto& [key, value] : w.fields) {
            if (key == "subscriber") {
                named.push_back(value);
                BOOST_TEST(w.message.find("plain http") != std::string::npos);
            }
            if (key == "setting" && value == "SWITCHBOARD_PUBLIC_URL") {
                public_url = true;
                BOOST_TEST(w.message.find("Host header") != std::string::npos);
                BOOST_TEST(w.message.find("another deployment") != std::string::npos);
            }
        }
    }
    BOOST_TEST(named == std::vector<std::string>{"crm"}); // loopback and https are fine
    BOOST_TEST(public_url);
    const auto configured = load({{"TWILIO_AUTH_TOKEN", "t"}, {"SWITCHBOARD_PUBLIC_URL", "https://voice.example.com"}});
    BOOST_TEST(configured.warnings.empty());
}

BOOST_AUTO_TEST_CASE(readme_documents_every_setting)
{
    std::ifstream in(std::string(SWITCHBOARD_SOURCE_DIR) + "/README.md");
    BOOST_REQUIRE(in);
    const std::string readme((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& s : settings()) {
        BOOST_TEST(readme.find(std::string("`") + s.name + "`") != std::string::npos, s.name << " is not in README.md");
    }
}

// The configuration table's default column says what the settings table in the code says: the
// value in backticks, or for an empty default a description in parentheses such as "(none)".
BOOST_AUTO_TEST_CASE(readme_defaults_are_the_code_defaults)
{
    std::ifstream in(std::string(SWITCHBOARD_SOURCE_DIR) + "/README.md");
    BOOST_REQUIRE(in);
    std::string line;
    std::map<std::string, std::string> column; // setting -> its default cell, first row wins
    while (std::getline(in, line)) {
        if (!line.starts_with("| `")) {
            continue;
        }
        const std::size_t name_end = line.find("` |", 3);
        const std::size_t cell_end = name_end == std::string::npos ? name_end : line.find(" |", name_end + 3);
        if (cell_end != std::string::npos) {
            column.emplace(line.substr(3, name_end - 3), line.substr(name_end + 4, cell_end - name_end - 4));
        }
    }
    for (const auto& s : settings()) {
        const auto it = column.find(s.name);
        BOOST_TEST_CONTEXT(s.name)
        {
            BOOST_REQUIRE_MESSAGE(it != column.end(), "no row in the README's configuration table");
            const std::string def = s.default_value;
            if (def.empty()) {
                BOOST_TEST(it->second.starts_with("("), "empty default, but the README says " << it->second);
            } else {
                BOOST_TEST(it->second.find("`" + def + "`") != std::string::npos,
                    "default " << def << ", but the README says " << it->second);
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
