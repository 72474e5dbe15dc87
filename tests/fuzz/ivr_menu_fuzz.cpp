// Menu definitions (protocol/ivr_menu, ivr_reader, ivr_json) and the engine that runs them
// (protocol/ivr_engine). Input: the definition's JSON, then NUL-separated: To, From, the
// callback query, Dial status, clock bytes, and Digits/SpeechResult pairs for successive
// steps. A valid definition (else the shipped default) answers and follows the fuzzed keys;
// every document it writes is well-formed TwiML whose callback URLs carry each state
// parameter once and name only the definition's menus.
#include "protocol/ivr/ivr_engine.hpp"
#include "protocol/ivr/ivr_menu.hpp"
#include "protocol/twilio/twiml_reader.hpp"
#include "tests/fuzz/fuzz.hpp"

#include <algorithm>

using namespace switchboard;

namespace {

struct callbacks {
    std::string gather; // the Gather's action URL
    std::string dial;
    std::string record;
    std::string connect; // an assistant hand-off's <Connect action>
};

// Checks one callback URL of ours.
void check_callback(const ivr::definition& d, std::string_view url)
{
    if (!url.starts_with("/api/voice/")) {
        return; // a redirect action's own URL, as configured
    }
    const std::size_t q = url.find('?');
    const form_params query = parse_form(q == std::string_view::npos ? std::string_view{} : url.substr(q + 1));
    for (std::size_t i = 0; i < query.size(); ++i) {
        for (std::size_t j = i + 1; j < query.size(); ++j) {
            fuzz::check(query[i].name != query[j].name, "a callback URL carries each state parameter once");
        }
        const auto name = query[i].name;
        fuzz::check(name == "menu" || name == "trail" || name == "at" || name == "attempt" || name == "round",
            "a callback URL carries only state parameters");
    }
    if (const auto menu = query.find("menu")) {
        fuzz::check(d.find(*menu) != nullptr, "a callback URL names a menu of the definition");
    }
}

void walk(const ivr::definition& d, const twiml::node& n, callbacks& out)
{
    const auto action = n.attribute("action");
    if (!action.empty()) {
        check_callback(d, action);
        (n.name == "Gather"           ? out.gather
                : n.name == "Dial"    ? out.dial
                : n.name == "Connect" ? out.connect
                                      : out.record)
            = std::string(action);
    }
    if (n.name == "Redirect") {
        check_callback(d, n.text);
    }
    for (const auto& c : n.children) {
        walk(d, c, out);
    }
}

callbacks check_step(const ivr::definition& d, const ivr::step& s)
{
    callbacks out;
    std::string problem;
    const auto doc = twiml::read(s.twiml, &problem);
    fuzz::check(doc.has_value(), "the engine writes well-formed TwiML");
    fuzz::check(doc->name == "Response", "the document is a <Response>");
    walk(d, *doc, out);
    if (s.sms) {
        const auto failed = twiml::read(s.sms->twiml_failed, &problem);
        fuzz::check(failed.has_value(), "the sms action's other document is well-formed");
        callbacks ignored;
        walk(d, *failed, ignored);
    }
    return out;
}

ivr::call_state state_of(std::string_view url)
{
    const std::size_t q = url.find('?');
    return ivr::parse_state(parse_form(q == std::string_view::npos ? std::string_view{} : url.substr(q + 1)));
}

const ivr::definition& shipped()
{
    static const auto def = ivr::parse(ivr::default_definition_json()).def;
    fuzz::check(def != nullptr, "the shipped definition is valid");
    return *def;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto f = fuzz::fields(fuzz::as_text(data, size), 7);
    fuzz::total([&] {
        // With a deployment assistant URL when the call has a caller (either way half the time).
        ivr::parse_options options;
        options.assistant_url = f[2].empty() ? "" : "wss://assistant.example/relay";
        const auto parsed = ivr::parse(f[0], options);
        fuzz::check((parsed.def != nullptr) == parsed.problems.empty(), "a definition comes without problems");
        for (const auto& p : parsed.problems) {
            fuzz::check(p.path.starts_with("$") && !p.message.empty(), "each problem has a path and a message");
        }
        if (parsed.def) {
            (void)ivr::to_dot(*parsed.def);
        }
        const ivr::definition& d = parsed.def ? *parsed.def : shipped();

        const ivr::call_info call{f[1], f[2], f[2]};
        const std::string_view clock = f[5];
        const ivr::clock_fn now = [&](std::string_view) -> std::optional<hours::local_time> {
            if (clock.empty()) {
                return std::nullopt; // an unknown zone
            }
            const auto n = static_cast<std::uint64_t>(fuzz::number(clock));
            hours::local_time t;
            t.year = 1970 + static_cast<int>(n % 200);
            t.month = static_cast<unsigned>(n >> 8) % 14;
            t.day = static_cast<unsigned>(n >> 12) % 33;
            t.weekday = static_cast<unsigned>(n >> 20) % 8; // 7: out of range
            t.minute_of_day = static_cast<unsigned>(n >> 24) % 1500; // past 1439: out of range
            return t;
        };
        const callbacks answered = check_step(d, ivr::answer(d, call, now));

        // The state a callback URL carries: the fuzzed query, else the answer's.
        ivr::call_state state = f[3].empty() ? state_of(answered.gather) : ivr::parse_state(parse_form(f[3]));
        check_step(d, ivr::dial_result(d, call, state, f[4]));
        check_step(d, ivr::recorded(d, call, state));
        check_step(d, ivr::assistant_ended(d, call, state));

        // Successive Gather results, each with the state of the previous document's URLs.
        std::string_view steps = f[6];
        for (int i = 0; i < 8 && !steps.empty(); ++i) {
            const auto pair = fuzz::fields(steps, 3);
            steps = pair[2];
            const ivr::step s = ivr::select(d, call, state, pair[0], pair[1]);
            const callbacks got = check_step(d, s);
            if (!got.dial.empty()) {
                check_step(d, ivr::dial_result(d, call, state_of(got.dial), f[4]));
            }
            if (!got.record.empty()) {
                check_step(d, ivr::recorded(d, call, state_of(got.record)));
            }
            if (!got.connect.empty()) {
                check_step(d, ivr::assistant_ended(d, call, state_of(got.connect)));
            }
            if (got.gather.empty()) {
                break; // the call ends or leaves the menus
            }
            state = state_of(got.gather);
        }
    });
    return 0;
}
