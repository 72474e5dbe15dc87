// protocol/events/call_event.cpp: event type names and filters, the event JSON, timestamps and
// dedupe keys.
#include "protocol/core/error.hpp"
#include "protocol/events/call_event.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

using namespace switchboard;

BOOST_AUTO_TEST_SUITE(events)

BOOST_AUTO_TEST_CASE(names_and_filters)
{
    BOOST_TEST(to_string(event_type::call_menu_selected) == "call.menu_selected");
    BOOST_TEST((parse_event_type("sms.received") == event_type::sms_received));
    BOOST_TEST(!parse_event_type("sms.sent"));
    BOOST_TEST(filter_matches("*", event_type::sms_status_changed));
    BOOST_TEST(filter_matches("call.*", event_type::call_status_changed));
    BOOST_TEST(!filter_matches("call.*", event_type::sms_received));
    BOOST_TEST(filter_matches("sms.received", event_type::sms_received));
    BOOST_TEST(!filter_matches("sms.rec", event_type::sms_received));
    BOOST_TEST(!filter_matches("ca*", event_type::call_status_changed));
    BOOST_TEST(is_valid_filter("call.*"));
    BOOST_TEST(is_valid_filter("*"));
    BOOST_TEST(!is_valid_filter("fax.*"));
    BOOST_TEST(!is_valid_filter("call.ended"));
}

BOOST_AUTO_TEST_CASE(json_round_trip_and_shape)
{
    call_event e;
    e.id = "evt_1";
    e.type = event_type::call_status_changed;
    e.occurred_at_ms = 1'795'791'845'123;
    e.call_sid = "CA1";
    e.from = "+14155551212";
    e.status = "completed";
    e.previous_status = "in-progress";
    e.sequence_number = 3;
    e.duration_seconds = 42;
    const std::string json = to_json(e);
    const auto doc = boost::json::parse(json).as_object();
    BOOST_TEST(doc.at("type").as_string() == "call.status_changed");
    BOOST_TEST(doc.at("timestamp").as_string() == "2026-11-27T15:04:05.123Z");
    const auto& data = doc.at("data").as_object();
    BOOST_TEST(data.at("duration_seconds").as_int64() == 42);
    BOOST_TEST(!data.contains("digits")); // empty fields are left out
    const auto back = from_json(json);
    BOOST_REQUIRE(back);
    BOOST_TEST(back->id == "evt_1");
    BOOST_TEST(*back->sequence_number == 3);
    BOOST_TEST(back->previous_status == "in-progress");
    BOOST_TEST(to_json(*back) == json);
    BOOST_TEST(from_json("{\"type\":\"nope\"}").error() == error::invalid_parameter);
    BOOST_TEST(from_json("not json").error() == error::invalid_parameter);
}

BOOST_AUTO_TEST_CASE(timestamps)
{
    BOOST_TEST(format_timestamp(0) == "1970-01-01T00:00:00.000Z");
    BOOST_TEST(format_timestamp(951'782'400'007) == "2000-02-29T00:00:00.007Z");
    BOOST_TEST(format_timestamp(-1) == "1969-12-31T23:59:59.999Z");
    BOOST_TEST(format_timestamp(-1000) == "1969-12-31T23:59:59.000Z");
    BOOST_TEST(format_timestamp(-1001) == "1969-12-31T23:59:58.999Z");
}

BOOST_AUTO_TEST_CASE(rfc3339_times_are_read_back)
{
    BOOST_TEST(*parse_timestamp("2000-02-29T00:00:00Z") == 951'782'400'000);
    BOOST_TEST(*parse_timestamp("2027-01-31T09:30:00+09:30") == *parse_timestamp("2027-01-31T00:00:00Z"));
    BOOST_TEST(*parse_timestamp("2027-01-30T19:00:00-05:00") == *parse_timestamp("2027-01-31T00:00:00Z"));
    BOOST_TEST(format_timestamp(*parse_timestamp("2026-12-03T13:45:07Z")) == "2026-12-03T13:45:07.000Z");
    // Fractions: milliseconds kept, finer digits cut; what format_timestamp writes reads back.
    BOOST_TEST(*parse_timestamp("2000-02-29T00:00:00.5Z") == 951'782'400'500);
    BOOST_TEST(*parse_timestamp("2000-02-29T00:00:00.123456789Z") == 951'782'400'123);
    BOOST_TEST(*parse_timestamp("2027-01-31T09:30:00.250+09:30") == *parse_timestamp("2027-01-31T00:00:00Z") + 250);
    for (const std::int64_t ms : {std::int64_t{0}, std::int64_t{951'782'400'007}, std::int64_t{1'796'000'123'999}}) {
        BOOST_TEST(*parse_timestamp(format_timestamp(ms)) == ms);
    }
    for (const char* bad : {"", "2027-01-31", "2027-01-31T00:00:00", "2027-02-30T00:00:00Z", "2027-01-31T24:00:00Z",
             "2027-01-31T00:00:00Zjunk", "2027-01-31T00:00:00.Z", "2027-01-31T00:00:00.1234567890Z",
             "2027-01-31T00:00:00.5", "2027-01-31 00:00:00Z", "2027-01-31T00:00:00+0100"}) {
        BOOST_TEST(!parse_timestamp(bad).has_value(), bad);
    }
}

// The floor division subtracted 999 first: a signed overflow for the 999 values nearest
// INT64_MIN.
BOOST_AUTO_TEST_CASE(timestamps_at_the_extremes)
{
    BOOST_TEST(format_timestamp(INT64_MIN) == "-292275055-05-16T16:47:04.192Z");
    BOOST_TEST(format_timestamp(INT64_MIN + 998) == "-292275055-05-16T16:47:05.190Z");
    BOOST_TEST(format_timestamp(INT64_MAX) == "292278994-08-17T07:12:55.807Z");
}

// An event document whose numbers exceed INT64_MAX is none that to_json wrote: refused, not
// read as negative numbers.
BOOST_AUTO_TEST_CASE(out_of_range_numbers_are_refused)
{
    const std::string head = R"({"id":"evt_1","type":"call.status_changed","occurred_at_ms":)";
    BOOST_TEST(from_json(head + R"(1,"data":{"sequence_number":3}})").has_value());
    BOOST_TEST(from_json(head + R"(18446744073709551615,"data":{}})").error() == error::invalid_parameter);
    for (const char* key : {"sequence_number", "duration_seconds", "attempt", "num_media"}) {
        const std::string json = head + R"(1,"data":{")" + key + R"(":9223372036854775808}})";
        BOOST_TEST(from_json(json).error() == error::invalid_parameter, key);
    }
    BOOST_TEST(*from_json(head + R"(1,"data":{"attempt":9223372036854775807}})")->attempt == INT64_MAX);
}

BOOST_AUTO_TEST_CASE(dedupe_keys)
{
    // The unsigned token never decides when there is a natural key: a replay with a fresh token
    // is the same event, a different callback with a reused token is a different one.
    BOOST_TEST(dedupe_key("tok-1", "CA1", 3, "ringing") == "sid:CA1#3");
    BOOST_TEST(dedupe_key("tok-2", "CA1", 3, "ringing") == dedupe_key("tok-1", "CA1", 3, "ringing"));
    BOOST_TEST(dedupe_key("tok-1", "CA1", 4, "completed") != dedupe_key("tok-1", "CA1", 3, "ringing"));
    BOOST_TEST(dedupe_key("tok-1", "", std::nullopt, "") == "token:tok-1");
    BOOST_TEST(dedupe_key("", "CA1", 3, "ringing") == "sid:CA1#3");
    BOOST_TEST(dedupe_key("", "SM1", std::nullopt, "delivered") == "sid:SM1@delivered");
    BOOST_TEST(dedupe_key("", "CA1", 3, "a") == dedupe_key("", "CA1", 3, "b"));
}

BOOST_AUTO_TEST_SUITE_END()
