// SMS webhooks: validation with named fields, and the events built from them.
#include "protocol/core/error.hpp"
#include "protocol/events/call_event.hpp"
#include "protocol/twilio/sms.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;

namespace {

form_params params(std::initializer_list<std::pair<const char*, const char*>> fields)
{
    form_params p;
    for (const auto& [k, v] : fields) {
        p.add(k, v);
    }
    return p;
}

const std::string message_sid = "SM" + std::string(32, 'c');

} // namespace

BOOST_AUTO_TEST_SUITE(sms_webhooks)

BOOST_AUTO_TEST_CASE(incoming_message)
{
    const auto m = parse_incoming_sms(params({{"MessageSid", message_sid.c_str()}, {"From", "+14155551212"},
        {"To", "+14155550000"}, {"Body", "Hi there"}, {"NumMedia", "0"}}));
    BOOST_REQUIRE(m);
    BOOST_TEST(m->body == "Hi there");
    BOOST_TEST(*m->num_media == 0);
    const auto e = sms_received_event(*m);
    BOOST_TEST((e.type == event_type::sms_received));
    BOOST_TEST(e.direction == "inbound");
    BOOST_TEST(e.status == "received");
    BOOST_TEST(e.message_sid == message_sid);
}

BOOST_AUTO_TEST_CASE(bad_messages_name_the_field)
{
    std::string problem;
    BOOST_TEST(
        parse_incoming_sms(params({{"From", "+1"}, {"To", "+2"}}), &problem).error() == error::missing_parameter);
    BOOST_TEST(problem.find("MessageSid") != std::string::npos);
    BOOST_TEST(parse_incoming_sms(params({{"MessageSid", "SM1"}, {"From", "+1"}, {"To", "+2"}}), &problem).error()
        == error::invalid_parameter);
    BOOST_TEST(parse_incoming_sms(params({{"MessageSid", message_sid.c_str()}, {"To", "+2"}}), &problem).error()
        == error::missing_parameter);
    BOOST_TEST(problem.find("From") != std::string::npos);
    BOOST_TEST(
        parse_incoming_sms(
            params({{"MessageSid", message_sid.c_str()}, {"From", "+1"}, {"To", "+2"}, {"NumMedia", "x"}}), &problem)
            .error()
        == error::invalid_parameter);
    BOOST_TEST(problem.find("NumMedia") != std::string::npos);
    BOOST_TEST(
        parse_sms_status(params({{"MessageSid", message_sid.c_str()}, {"MessageStatus", "exploded"}}), &problem).error()
        == error::invalid_parameter);
    BOOST_TEST(problem.find("MessageStatus") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(status_callback)
{
    const auto m = parse_sms_status(params({{"SmsSid", message_sid.c_str()}, {"SmsStatus", "undelivered"},
        {"ErrorCode", "30003"}, {"AccountSid", ("AC" + std::string(32, '1')).c_str()}}));
    BOOST_REQUIRE(m);
    BOOST_TEST(m->status == "undelivered");
    const auto e = sms_status_changed_event(*m);
    BOOST_TEST(e.error_code == "30003");
    BOOST_TEST((e.type == event_type::sms_status_changed));
    BOOST_TEST(is_terminal_sms_status("undelivered"));
    BOOST_TEST(!is_terminal_sms_status("sent"));
    BOOST_TEST(dedupe_key("", m->message_sid, std::nullopt, m->status) == "sid:" + message_sid + "@undelivered");
}

BOOST_AUTO_TEST_SUITE_END()
