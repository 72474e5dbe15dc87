// SWITCHBOARD_SUBSCRIBERS (service/app/config.cpp, through load_config with an environment that
// holds only a token and the fuzzed JSON): a bad array is a list of messages, never an
// exception at start-up; every subscriber it accepts is one the deliverer can run.
#include "protocol/events/call_event.hpp"
#include "protocol/events/webhook_signature.hpp"
#include "service/app/config.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

namespace {

bool is_port(std::string_view p)
{
    unsigned n = 0;
    for (const char c : p) {
        if (c < '0' || c > '9' || n > 65535) {
            return false;
        }
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    return !p.empty() && n >= 1 && n <= 65535;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string json(fuzz::as_text(data, size));
    fuzz::total([&] {
        const env_lookup env = [&](const std::string& name) -> std::optional<std::string> {
            if (name == "TWILIO_AUTH_TOKEN") {
                return "12345";
            }
            if (name == "SWITCHBOARD_SUBSCRIBERS") {
                return json;
            }
            return std::nullopt;
        };
        const load_result r = load_config(env, {});
        const auto& subs = r.cfg.subscribers;
        for (std::size_t i = 0; i < subs.size(); ++i) {
            const auto& s = subs[i];
            // What the deliverer does with each subscriber at start-up.
            fuzz::check(webhook_signature::parse_secret(s.secret).has_value(), "an accepted secret parses");
            // An origin the HTTP client can connect to and a request target it can send.
            fuzz::check(!s.host.empty(), "an accepted URL has a host");
            fuzz::check(is_port(s.port), "an accepted URL has a port from 1 to 65535");
            fuzz::check(s.target.starts_with('/'), "an accepted URL's request target is origin-form (RFC 9112 §3.2.1)");
            fuzz::check(s.concurrency >= 1 && s.retry.max_attempts >= 1, "limits are in range");
            fuzz::check(!s.events.empty(), "a subscriber has an event filter");
            for (const auto& e : s.events) {
                fuzz::check(is_valid_filter(e), "every filter is valid");
            }
            for (std::size_t j = i + 1; j < subs.size(); ++j) {
                fuzz::check(subs[j].name != s.name, "names are unique");
            }
        }
    });
    return 0;
}
