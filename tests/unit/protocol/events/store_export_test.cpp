#include "protocol/events/store_export.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;
namespace x = store_export;

namespace {

x::event sample_event()
{
    x::event e{7, "evt_0123", "call.status_changed", 1'700'000'000'000, "status:CA1#2", "CA1",
        R"({"id":"evt_0123","data":{"note":"line\nbreak \"quoted\""}})", {}};
    e.deliveries.push_back({"crm", "delivered", 1, 1'700'000'000'500, 1'700'000'000'400, 1'700'000'000'400, 204, ""});
    e.deliveries.push_back({"audit", "dead", 3, 1'700'000'009'000, 1'700'000'000'400, std::nullopt, 500, "HTTP 500"});
    return e;
}

template <class T> T round_trip(const T& value)
{
    const std::string text = x::to_line(value);
    BOOST_TEST(text.find('\n') == std::string::npos);
    std::string problem;
    auto back = x::parse_line(text, &problem);
    BOOST_TEST_REQUIRE(back.has_value(), problem);
    BOOST_TEST_REQUIRE(std::holds_alternative<T>(*back));
    return std::get<T>(*back);
}

} // namespace

BOOST_AUTO_TEST_SUITE(store_export_format)

BOOST_AUTO_TEST_CASE(every_kind_of_line_reads_back_as_written)
{
    BOOST_TEST((round_trip(x::header{"sqlite", 42}) == x::header{"sqlite", 42}));
    BOOST_TEST((round_trip(sample_event()) == sample_event()));
    call_record c;
    c.call_sid = "CA1";
    c.status = "completed";
    c.last_sequence = 3;
    c.duration_seconds = 61;
    c.started_at_ms = 5;
    c.updated_at_ms = 9;
    c.menu_selections = {"1", "sales, east"};
    BOOST_TEST((round_trip(c) == c));
    message_record m;
    m.message_sid = "SM1";
    m.body = "héllo\u0001";
    m.num_media = 2;
    BOOST_TEST((round_trip(m) == m));
    BOOST_TEST(
        (round_trip(x::number{"PN1", "+14155550100", "main", 3}) == x::number{"PN1", "+14155550100", "main", 3}));
    const x::totals t{{{"calls.completed.inbound", 3}, {"sms.received", 2}}};
    BOOST_TEST((round_trip(t) == t));
    BOOST_TEST((round_trip(x::counts{1, 2, 3, 4, 5, 6}) == x::counts{1, 2, 3, 4, 5, 6}));
    const x::subscriber sub{"crm", R"({"settings":{"name":"crm"},"state":"paused"})", 3};
    BOOST_TEST((round_trip(sub) == sub));
}

BOOST_AUTO_TEST_CASE(an_end_line_from_before_stored_subscribers_counts_none_and_bad_subscribers_are_refused)
{
    const auto old = x::parse_line(R"({"kind":"end","events":1,"deliveries":2,"calls":3,"messages":4,"numbers":5})");
    BOOST_REQUIRE(old);
    BOOST_TEST((std::get<x::counts>(*old) == x::counts{1, 2, 3, 4, 5, 0}));
    std::string problem;
    BOOST_TEST(!x::parse_line(R"({"kind":"subscriber","name":"","document":"{}","version":1})", &problem));
    BOOST_TEST(problem.find("subscriber") != std::string::npos);
    BOOST_TEST(!x::parse_line(R"({"kind":"subscriber","name":"a","document":"{}","version":0})"));
    BOOST_TEST(!x::parse_line(R"({"kind":"subscriber","name":"a","version":1})"));
}

BOOST_AUTO_TEST_CASE(the_end_line_counts_records_and_deliveries)
{
    x::counts c;
    x::add(c, x::header{"sqlite", 1});
    x::add(c, sample_event());
    x::add(c, call_record{});
    x::add(c, message_record{});
    x::add(c, x::number{});
    x::add(c, x::totals{});
    x::add(c, x::subscriber{"crm", "{}", 1});
    BOOST_TEST((c == x::counts{1, 2, 1, 1, 1, 1}));
}

BOOST_AUTO_TEST_CASE(bad_lines_are_refused_with_the_reason)
{
    const auto refused = [](std::string_view text, std::string_view expected) {
        std::string problem;
        BOOST_TEST(!x::parse_line(text, &problem).has_value(), text);
        BOOST_TEST(problem.find(expected) != std::string::npos, problem + " does not say " + std::string(expected));
    };
    refused("", "not a JSON object");
    refused("[1]", "not a JSON object");
    refused(R"({"kind":"parcel"})", "kind: expected header");
    refused(R"({"kind":"header","format":"other","version":1,"store":"sqlite","exported_at_ms":1})",
        "not a switchboard-store-export");
    refused(R"({"kind":"header","format":"switchboard-store-export","version":2,"store":"sqlite","exported_at_ms":1})",
        "version 1");
    std::string e = x::to_line(sample_event());
    refused(std::string(e).replace(e.find("\"delivered\""), 11, "\"lost\""), "state must be");
    refused(std::string(e).replace(e.find("\"seq\":7"), 7, "\"seq\":\"7\""), "seq: expected an integer");
    refused(std::string(e).replace(e.find("\"seq\":7"), 7, "\"seq\":0"), "seq must be positive");
    refused(R"({"kind":"number","sid":"","phone_number":"+1","friendly_name":"","purchased_at_ms":0})",
        "sid and phone_number");
    refused(R"({"kind":"totals","values":{"a":"1"}})", "values: expected integers");
    refused(R"({"kind":"end","events":1})", "deliveries: expected an integer");
}

BOOST_AUTO_TEST_SUITE_END()
