// Status callback parsing and ordering: follow SequenceNumber, never leave a terminal status.
#include "protocol/core/error.hpp"
#include "protocol/twilio/call_status.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;

namespace {

call_status_update update(const char* status, std::optional<std::int64_t> seq)
{
    call_status_update u;
    u.call_sid = "CA1";
    u.raw_status = status;
    u.status = parse_call_status(status);
    u.sequence_number = seq;
    return u;
}

} // namespace

BOOST_AUTO_TEST_SUITE(call_status_rules)

BOOST_AUTO_TEST_CASE(parse_requires_sid_and_status)
{
    const std::string sid = "CA" + std::string(32, 'a');
    form_params p;
    p.add("CallSid", sid);
    BOOST_TEST(parse_call_status_update(p).error() == error::missing_parameter);
    p.add("CallStatus", "in-progress");
    p.add("SequenceNumber", "2");
    p.add("CallDuration", "");
    const auto u = parse_call_status_update(p);
    BOOST_REQUIRE(u);
    BOOST_TEST((u->status == call_status::in_progress));
    BOOST_TEST(*u->sequence_number == 2);
    BOOST_TEST(!u->duration_seconds);
    form_params worse;
    worse.add("CallSid", sid);
    worse.add("CallStatus", "completed");
    worse.add("CallDuration", "12s");
    std::string problem;
    BOOST_TEST(parse_call_status_update(worse, &problem).error() == error::invalid_parameter);
    BOOST_TEST(problem.find("CallDuration") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(garbage_fields_are_named)
{
    const auto problem_of = [](std::initializer_list<std::pair<const char*, const char*>> fields) {
        form_params p;
        for (const auto& [k, v] : fields) {
            p.add(k, v);
        }
        std::string problem;
        const auto r = parse_call_status_update(p, &problem);
        BOOST_TEST(!r);
        return problem;
    };
    const std::string sid = "CA" + std::string(32, 'F');
    BOOST_TEST(problem_of({{"CallSid", "CA1"}, {"CallStatus", "ringing"}}).find("CallSid") != std::string::npos);
    BOOST_TEST(
        problem_of({{"CallSid", "XX0123456789abcdef0123456789abcdef"}, {"CallStatus", "ringing"}}).find("CallSid")
        != std::string::npos);
    BOOST_TEST(problem_of({{"CallSid", sid.c_str()}, {"CallStatus", "answered-by-robot"}}).find("CallStatus")
        != std::string::npos);
    BOOST_TEST(
        problem_of({{"CallSid", sid.c_str()}, {"CallStatus", "ringing"}, {"AccountSid", "AC12"}}).find("AccountSid")
        != std::string::npos);
    BOOST_TEST(problem_of({{"CallSid", sid.c_str()}, {"CallStatus", "ringing"}, {"SequenceNumber", "-1"}})
                   .find("SequenceNumber")
        != std::string::npos);
    BOOST_TEST(is_twilio_sid("SM" + std::string(32, '0'), "SM"));
    BOOST_TEST(!is_twilio_sid("SM" + std::string(31, '0') + "g", "SM"));
}

BOOST_AUTO_TEST_CASE(unknown_status_parses_as_other)
{
    BOOST_TEST((parse_call_status("answered-by-robot") == call_status::other));
    BOOST_TEST(to_string(call_status::no_answer) == "no-answer");
    BOOST_TEST(is_terminal(call_status::busy));
    BOOST_TEST(!is_terminal(call_status::ringing));
}

BOOST_AUTO_TEST_CASE(out_of_order_callbacks)
{
    call_progress r;
    BOOST_TEST((apply(r, update("ringing", 1)) == apply_result::applied));
    BOOST_TEST((apply(r, update("initiated", 0)) == apply_result::stale));
    BOOST_TEST((r.status == call_status::ringing));
    BOOST_TEST((apply(r, update("completed", 3)) == apply_result::applied));
    BOOST_TEST((apply(r, update("in-progress", 2)) == apply_result::after_terminal));
    BOOST_TEST((apply(r, update("ringing", 9)) == apply_result::after_terminal));
    BOOST_TEST((r.status == call_status::completed));
}

BOOST_AUTO_TEST_CASE(duplicates_are_stale)
{
    call_progress r;
    BOOST_TEST((apply(r, update("ringing", 1)) == apply_result::applied));
    BOOST_TEST((apply(r, update("ringing", 1)) == apply_result::stale));
    BOOST_TEST((apply(r, update("in-progress", std::nullopt)) == apply_result::applied));
}

BOOST_AUTO_TEST_SUITE_END()
