// protocol/ivr/ivr_reader.cpp (through ivr::parse): reading and checking a menu document, and the
// `menu check` message for each broken definition.
#include "protocol/ivr/ivr_menu.hpp"

#include "tests/unit/protocol/ivr/sample_menus.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

using namespace switchboard;

using switchboard::test::sample;

namespace {

// The problems of a definition, as "path: message" lines.
std::string problems_of(std::string_view json)
{
    const auto r = ivr::parse(json, {[](std::string_view z) { return z == "Europe/Paris"; }});
    std::string out;
    for (const auto& p : r.problems) {
        out += p.path + ": " + p.message + "\n";
    }
    return out;
}

// A minimal valid definition with one menu whose body is spliced in.
std::string one_menu(std::string_view menu_body, std::string_view extra_menus = "", std::string_view line = "")
{
    return R"({"version": 1, "lines": {"main": {"menu": "m")" + std::string(line) + R"(}}, "menus": {"m": )"
        + std::string(menu_body) + std::string(extra_menus) + "}}";
}

std::string relay_problems(std::string_view action)
{
    ivr::parse_options o;
    const auto r = ivr::parse(
        one_menu(R"({"prompt": "x", "options": [{"digits": "2", "action": )" + std::string(action) + "}]}"), o);
    std::string out;
    for (const auto& p : r.problems) {
        out += p.path + ": " + p.message + "\n";
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(menu_check)

BOOST_AUTO_TEST_CASE(the_samples_are_valid)
{
    BOOST_TEST(problems_of(ivr::default_definition_json()) == "");
    BOOST_TEST(sample()->menus.size() == 4u);
}

BOOST_AUTO_TEST_CASE(each_broken_definition_gets_its_message)
{
    const std::pair<std::string, std::string> cases[] = {
        {"{", "$: not valid JSON"},
        {"[]", "$: must be an object, got an array"},
        {R"({"version": 2, "lines": {}, "menus": {}})", "$.version: unsupported version 2"},
        {R"({"lines": {"a": {"menu": "m"}}, "menus": {"m": {"prompt": "x", "options": [{"digits": "1"}]}}})",
            "$.version: is required"},
        {one_menu(R"({"prompt": "x", "optoins": []})"),
            "$.menus.m.optoins: unknown key (expected one of: prompt, reprompt"},
        {one_menu(R"({"prompt": "x", "options": [{"digits": "1", "action": {"type": "menu", "menu": "nowhere"}}]})"),
            "$.menus.m.options[0].action.menu: refers to menu \"nowhere\", which is not defined"},
        {one_menu(R"({"prompt": "x", "options": [{"digits": "1", "action": {"type": "hangup"}}]})",
             R"(, "orphan": {"prompt": "y", "options": [{"digits": "1", "action": {"type": "hangup"}}]})"),
            "$.menus.orphan: is unreachable: no line or option leads to it"},
        {one_menu(R"({"prompt": "x", "options": [{"digits": "1", "action": {"type": "hangup"}},
                                                  {"digits": "1", "action": {"type": "repeat"}}]})"),
            "$.menus.m.options[1].digits: duplicate key \"1\": options[0] has it"},
        {one_menu(R"({"prompt": "x", "input": "dtmf speech", "options": [
                {"digits": "1", "keywords": ["Sales"], "action": {"type": "hangup"}},
                {"digits": "2", "keywords": ["sales!"], "action": {"type": "hangup"}}]})"),
            "$.menus.m.options[1].keywords: duplicate keyword \"sales\": options[0] has it"},
        {one_menu(R"({"prompt": "x", "options": [{"digits": "1", "action": {"type": "hangup"}}], "prompt": "y"})"),
            "$.menus.m.prompt: duplicate key (only one value would be used)"},
        {one_menu(R"({"prompt": {"say": "x", "voice": "Robot"}, "options": [{"digits": "1", "action": {}}]})"),
            "$.menus.m.prompt.voice: voice must be alice, man, woman, Polly.<Name> or Google.<voice>, got \"Robot\""},
        {one_menu(R"({"prompt": "x", "options": [{"digits": "1", "action": {"type": "dial", "number": "555-1234"}}]})"),
            "$.menus.m.options[0].action.number: must be an E.164 number such as +14155550100, got \"555-1234\""},
        {one_menu(R"({"prompt": "x", "options": [{"digits": "1", "action": {"type": "dial"}}]})"),
            "$.menus.m.options[0].action.number: is required"},
        {one_menu(R"({"prompt": "x", "options": [{"digits": "1", "action": {"type": "transfer"}}]})"),
            "$.menus.m.options[0].action.type: unknown action \"transfer\""},
        {one_menu(R"({"prompt": "x", "num_digits": 1, "options": [{"digits": "12", "action": {}}]})"),
            "$.menus.m.options[0].digits: never matches: the menu reads at most 1 digit(s)"},
        {one_menu(R"({"prompt": "x", "options": [{"keywords": ["sales"], "action": {}}]})"),
            "$.menus.m.options[0]: has only keywords but the menu's input does not include speech"},
        {one_menu(R"({"prompt": "x", "options": [{"digits": "1#", "action": {}}]})"),
            "$.menus.m.options[0].digits: contains the finish key"},
        {one_menu(R"({"prompt": "x", "timeout": 0, "options": [{"digits": "1", "action": {}}]})"),
            "$.menus.m.timeout: must be from 1 to 60, got 0"},
        {one_menu(R"({"prompt": "x", "retries": "2", "options": [{"digits": "1", "action": {}}]})"),
            "$.menus.m.retries: must be a whole number from 0 to 10, got a string"},
        {one_menu(R"({"prompt": "", "options": [{"digits": "1", "action": {}}]})"), "$.menus.m.prompt: is empty"},
        {one_menu(R"({"prompt": {"play": "ftp://x"}, "options": [{"digits": "1", "action": {}}]})"),
            "$.menus.m.prompt.play: must be an http(s) URL or an absolute path"},
        {one_menu(R"({"prompt": "x", "options": [{"digits": "1", "action": {"type": "sms", "body": "b",
                "then": {"type": "sms", "body": "c"}}}]})"),
            "$.menus.m.options[0].action.then: an sms cannot be followed by another sms"},
        {one_menu(R"({"prompt": "x", "options": [{"digits": "1", "action": {}}]})", "",
             R"(, "hours": {"time_zone": "Mars/Olympus", "weekly": {"mon": ["9:00-17:00"]}, "closed_menu": "m"})"),
            "$.lines.main.hours.time_zone: unknown time zone \"Mars/Olympus\""},
        {one_menu(R"({"prompt": "x", "options": [{"digits": "1", "action": {}}]})", "",
             R"(, "hours": {"time_zone": "Europe/Paris", "weekly": {"mon": ["9:00-17:00"]}, "closed_menu": "m"})"),
            "$.lines.main.hours.weekly.mon[0]: must be \"HH:MM-HH:MM\" with the start before the end, got "
            "\"9:00-17:00\""},
        {one_menu(R"({"prompt": "x", "options": [{"digits": "1", "action": {}}]})", "",
             R"(, "hours": {"time_zone": "Europe/Paris", "weekly": {"monday": []}, "closed_menu": "m"})"),
            "$.lines.main.hours.weekly.monday: unknown day; use sun, mon, tue, wed, thu, fri, sat"},
        {one_menu(R"({"prompt": "x", "options": [{"digits": "1", "action": {}}]})", "",
             R"(, "hours": {"time_zone": "Europe/Paris", "weekly": {}, "holidays": ["2026-02-29"], "closed_menu": "m"})"),
            "$.lines.main.hours.holidays[0]: must be a date YYYY-MM-DD, got \"2026-02-29\""},
        {one_menu(R"({"prompt": "x", "options": [{"digits": "1", "action": {}}]})", "",
             R"(, "numbers": ["+1 415 555 0100"])"),
            "$.lines.main.numbers[0]: must be an E.164 number"},
        {R"({"version": 1, "lines": {"a": {"menu": "m", "numbers": ["+14155550100"]},
              "b": {"menu": "m", "numbers": ["+14155550100"]}},
             "menus": {"m": {"prompt": "x", "options": [{"digits": "1", "action": {}}]}}})",
            "$.lines.b.numbers: number +14155550100 is already answered by line \"a\""},
        {R"({"version": 1, "lines": {"a": {"menu": "m", "numbers": ["+14155550100"]},
              "b": {"menu": "m", "numbers": ["+14155550101"]}},
             "menus": {"m": {"prompt": "x", "options": [{"digits": "1", "action": {}}]}}})",
            "$.lines: no line is marked \"default\": true"},
        {R"({"version": 1, "lines": {"a": {"menu": "m"}}, "menus": {"bad id": {"prompt": "x", "options": []}}})",
            "$.menus[\"bad id\"]: menu id must be 1 to 64 letters, digits, '_' or '-'"},
    };
    for (const auto& [json, expected] : cases) {
        const std::string got = problems_of(json);
        BOOST_TEST_CONTEXT(json)
        {
            BOOST_TEST(got.find(expected) != std::string::npos, "expected \"" << expected << "\" in:\n" << got);
            BOOST_TEST(!ivr::parse(json).def);
        }
    }
}

BOOST_AUTO_TEST_CASE(every_problem_is_reported_in_one_run)
{
    const std::string got = problems_of(
        one_menu(R"({"prompt": "x", "colour": 1, "options": [{"digits": "1", "action": {"type": "dial", "number": "1"}},
                                                           {"digits": "x", "action": {"type": "menu", "menu": "no"}}]})"));
    BOOST_TEST(got.find("$.menus.m.colour") != std::string::npos);
    BOOST_TEST(got.find("$.menus.m.options[0].action.number") != std::string::npos);
    BOOST_TEST(got.find("$.menus.m.options[1].digits") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(menu_check_refuses_what_twilio_would_not_connect)
{
    const std::pair<std::string, std::string> cases[] = {
        {R"({"type": "assistant", "conversation_relay": {"url": "ws://a.example/relay"}})",
            "$.menus.m.options[0].action.conversation_relay.url: must be a wss:// URL"},
        {R"({"type": "assistant", "stream": {"url": "https://a.example/s"}})",
            "$.menus.m.options[0].action.stream.url: must be a wss:// URL"},
        {R"({"type": "assistant", "conversation_relay": {"url": "wss://a.example", "welcomeGreeting": "hi"}})",
            "$.menus.m.options[0].action.conversation_relay.welcomeGreeting: is not a ConversationRelay attribute"},
        {R"({"type": "assistant", "stream": {"url": "wss://a.example", "track": "both_tracks"}})",
            "$.menus.m.options[0].action.stream.track: unknown key"},
        {R"({"type": "assistant", "conversation_relay": {"url": "wss://a.example"}, "stream": {"url": "wss://b.example"}})",
            "$.menus.m.options[0].action: needs exactly one of \"conversation_relay\" or \"stream\""},
        {R"({"type": "assistant", "say": "x"})",
            "$.menus.m.options[0].action: needs exactly one of \"conversation_relay\" or \"stream\""},
        {R"({"type": "assistant", "conversation_relay": {}})",
            "$.menus.m.options[0].action: has no url and SWITCHBOARD_ASSISTANT_URL is not set"},
        {R"({"type": "assistant", "conversation_relay": {"url": "wss://a.example", "interruptible": "sometimes"}})",
            "$.menus.m.options[0].action.conversation_relay.interruptible: must be any, speech, dtmf or none"},
        {R"({"type": "assistant", "conversation_relay": {"url": "wss://a.example", "language": "English"}})",
            "$.menus.m.options[0].action.conversation_relay.language: must look like en-US"},
        {R"({"type": "assistant", "conversation_relay": {"url": "wss://a.example", "dtmf_detection": "yes"}})",
            "$.menus.m.options[0].action.conversation_relay.dtmf_detection: must be true or false"},
        {R"({"type": "assistant", "conversation_relay": {"url": "wss://a.example", "parameters": {"who": "{caller}"}}})",
            "$.menus.m.options[0].action.conversation_relay.parameters.who: unknown placeholder \"{caller}\""},
        {R"({"type": "assistant", "conversation_relay": {"url": "wss://a.example", "parameters": {"a b": "x"}}})",
            "$.menus.m.options[0].action.conversation_relay.parameters[\"a b\"]"},
        {R"({"type": "assistant", "conversation_relay": {"url": "wss://a.example"}, "then": {"type": "menu", "menu": "nowhere"}})",
            "$.menus.m.options[0].action.then.menu: refers to menu \"nowhere\", which is not defined"},
        {R"({"type": "assistant", "conversation_relay": {}, "unavailable": {"type": "menu", "menu": "nowhere"}})",
            "$.menus.m.options[0].action.unavailable.menu: refers to menu \"nowhere\", which is not defined"},
    };
    for (const auto& [action, expected] : cases) {
        const std::string got = relay_problems(action);
        BOOST_TEST_CONTEXT(action)
        {
            BOOST_TEST(got.find(expected) != std::string::npos, "expected \"" << expected << "\" in:\n" << got);
        }
    }
    BOOST_TEST(relay_problems(R"({"type": "assistant", "conversation_relay": {"url": "wss://a.example/r"}})").empty());
}

BOOST_AUTO_TEST_SUITE_END()
