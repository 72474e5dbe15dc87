// Status callback parsing and ordering: follow SequenceNumber, never leave a terminal status.
#include "protocol/call_status.hpp"
#include "protocol/error.hpp"

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
    form_params p;
    p.add("CallSid", "CA1");
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
    worse.add("CallSid", "CA1");
    worse.add("CallStatus", "completed");
    worse.add("CallDuration", "12s");
    BOOST_TEST(parse_call_status_update(worse).error() == error::invalid_parameter);
}

BOOST_AUTO_TEST_CASE(unknown_status_is_other_not_an_error)
{
    BOOST_TEST((parse_call_status("answered-by-robot") == call_status::other));
    BOOST_TEST(to_string(call_status::no_answer) == "no-answer");
    BOOST_TEST(is_terminal(call_status::busy));
    BOOST_TEST(!is_terminal(call_status::ringing));
}

BOOST_AUTO_TEST_CASE(out_of_order_callbacks)
{
    call_record r;
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
    call_record r;
    BOOST_TEST((apply(r, update("ringing", 1)) == apply_result::applied));
    BOOST_TEST((apply(r, update("ringing", 1)) == apply_result::stale));
    BOOST_TEST((apply(r, update("in-progress", std::nullopt)) == apply_result::applied));
}

BOOST_AUTO_TEST_SUITE_END()
