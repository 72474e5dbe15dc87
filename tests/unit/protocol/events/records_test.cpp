// The call and message record rules (protocol/events/records.hpp), table-driven: every status pair in
// both orders, every arrival order of a call's callbacks, terminal stickiness, durations, menu
// selections, message statuses, the operator API's merge and the running totals.
#include "protocol/events/records.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>

using namespace switchboard;

namespace {

const std::string sid = "CA" + std::string(32, 'b');

call_event status_event(std::string_view status, std::optional<std::int64_t> seq, std::int64_t at,
    std::optional<std::int64_t> duration = std::nullopt)
{
    call_event e;
    e.type = event_type::call_status_changed;
    e.call_sid = sid;
    e.account_sid = "AC" + std::string(32, '1');
    e.from = "+14155550100";
    e.to = "+14155551212";
    e.direction = "inbound";
    e.status = std::string(status);
    e.sequence_number = seq;
    e.duration_seconds = duration;
    e.occurred_at_ms = at;
    return e;
}

call_event menu_event(std::string digits, std::string choice, std::int64_t at)
{
    call_event e;
    e.type = event_type::call_menu_selected;
    e.call_sid = sid;
    e.direction = "inbound";
    e.digits = std::move(digits);
    e.choice = std::move(choice);
    e.menu = "main";
    e.occurred_at_ms = at;
    return e;
}

// Feeds the events in order from no record, checking that the totals deltas always add up to
// the totals of the record they produced.
struct call_log {
    std::optional<call_record> record;
    counters totals;
    std::vector<call_event> delivered;
    std::vector<std::optional<apply_result>> verdicts;

    void feed(call_event e)
    {
        const call_change c = updated(record, e);
        for (const auto& [name, delta] : c.totals) {
            BOOST_TEST(delta != 0, "no zero entries: " << name);
            totals[name] += delta;
        }
        std::erase_if(totals, [](const auto& t) { return t.second == 0; });
        record = c.record;
        counters expected = totals_of(*record);
        std::erase_if(expected, [](const auto& t) { return t.second == 0; });
        BOOST_TEST((totals == expected));
        delivered.push_back(std::move(e));
        verdicts.push_back(c.applied);
    }
};

constexpr std::array statuses{
    "queued", "initiated", "ringing", "in-progress", "completed", "busy", "no-answer", "canceled", "failed"};

} // namespace

BOOST_AUTO_TEST_SUITE(records)

BOOST_AUTO_TEST_CASE(billed_minutes_round_up)
{
    BOOST_TEST(billed_minutes(-5) == 0);
    BOOST_TEST(billed_minutes(0) == 0);
    BOOST_TEST(billed_minutes(1) == 1);
    BOOST_TEST(billed_minutes(60) == 1);
    BOOST_TEST(billed_minutes(61) == 2);
    call_record r;
    BOOST_TEST(!billed_minutes(r));
    r.duration_seconds = 125;
    BOOST_TEST(*billed_minutes(r) == 3);
}

// Every ordered pair of statuses, the second with a higher and then a lower SequenceNumber:
// a terminal status never moves; otherwise the newer callback wins and the older is stale.
BOOST_AUTO_TEST_CASE(every_status_pair_in_both_orders)
{
    for (const char* first : statuses) {
        for (const char* second : statuses) {
            for (const bool newer : {true, false}) {
                BOOST_TEST_CONTEXT(first << " then " << second << (newer ? " (newer)" : " (older)"))
                {
                    call_log log;
                    log.feed(status_event(first, 5, 1000));
                    BOOST_TEST(log.delivered[0].previous_status == "");
                    BOOST_TEST(log.delivered[0].current_status == first);
                    log.feed(status_event(second, newer ? 6 : 4, 2000));
                    const bool terminal = is_terminal(parse_call_status(first));
                    const apply_result expected = terminal ? apply_result::after_terminal
                        : newer                            ? apply_result::applied
                                                           : apply_result::stale;
                    BOOST_TEST((log.verdicts[1] == expected));
                    const std::string kept = expected == apply_result::applied ? second : first;
                    BOOST_TEST(log.record->status == kept);
                    BOOST_TEST(log.delivered[1].previous_status == first);
                    BOOST_TEST(log.delivered[1].current_status == kept);
                    BOOST_TEST(log.record->last_sequence == (expected == apply_result::applied ? 6 : 5));
                    BOOST_TEST(log.record->updated_at_ms == 2000);
                    BOOST_TEST(log.record->started_at_ms == 1000);
                    // Ended when a terminal status was first applied, and never later.
                    if (terminal) {
                        BOOST_TEST(log.record->ended_at_ms.value_or(-1) == 1000);
                    } else if (expected == apply_result::applied && is_terminal(parse_call_status(second))) {
                        BOOST_TEST(log.record->ended_at_ms.value_or(-1) == 2000);
                    } else {
                        BOOST_TEST(!log.record->ended_at_ms);
                    }
                }
            }
        }
    }
}

// Every arrival order of one call's four callbacks (24) ends in the same record.
BOOST_AUTO_TEST_CASE(out_of_order_sequences_converge)
{
    struct step {
        const char* status;
        std::int64_t seq;
        std::optional<std::int64_t> duration;
    };
    std::array<step, 4> steps{{{"initiated", 0, {}}, {"ringing", 1, {}}, {"in-progress", 2, {}}, {"completed", 3, 61}}};
    std::sort(steps.begin(), steps.end(), [](const step& a, const step& b) { return a.seq < b.seq; });
    int orders = 0;
    do {
        call_log log;
        std::int64_t at = 1000;
        std::int64_t completed_at = 0;
        for (const auto& s : steps) {
            if (s.seq == 3) {
                completed_at = at;
            }
            log.feed(status_event(s.status, s.seq, at, s.duration));
            at += 100;
        }
        BOOST_TEST_CONTEXT("order " << orders)
        {
            BOOST_TEST(log.record->status == "completed");
            BOOST_TEST(log.record->last_sequence == 3);
            BOOST_TEST(log.record->duration_seconds.value_or(-1) == 61);
            BOOST_TEST(log.record->ended_at_ms.value_or(-1) == completed_at);
            BOOST_TEST(log.record->started_at_ms == 1000);
            BOOST_TEST(log.totals.at("b\ncompleted\ninbound") == 2);
            BOOST_TEST(log.totals.at("c\ncompleted\ninbound") == 1);
            BOOST_TEST(log.totals.size() == 4u);
            // Each event reports the status before it and after it, and they chain.
            for (std::size_t i = 1; i < log.delivered.size(); ++i) {
                BOOST_TEST(log.delivered[i].previous_status == log.delivered[i - 1].current_status);
            }
        }
        ++orders;
    } while (
        std::next_permutation(steps.begin(), steps.end(), [](const step& a, const step& b) { return a.seq < b.seq; }));
    BOOST_TEST(orders == 24);
}

BOOST_AUTO_TEST_CASE(without_sequence_numbers_only_terminal_sticks)
{
    call_log log;
    log.feed(status_event("in-progress", std::nullopt, 1000));
    log.feed(status_event("ringing", std::nullopt, 1100)); // no order to go by: applied
    BOOST_TEST(log.record->status == "ringing");
    log.feed(status_event("busy", std::nullopt, 1200));
    log.feed(status_event("in-progress", std::nullopt, 1300));
    BOOST_TEST((log.verdicts.back() == apply_result::after_terminal));
    BOOST_TEST(log.record->status == "busy");
    BOOST_TEST(log.record->last_sequence == -1);
}

BOOST_AUTO_TEST_CASE(durations_and_late_fields)
{
    call_log log;
    auto first = status_event("ringing", 1, 1000);
    first.from.clear();
    first.direction.clear();
    log.feed(first);
    BOOST_TEST(log.record->from == "");
    // A later callback fills what the first lacked, never overwrites what is there.
    auto second = status_event("completed", 2, 2000, 0);
    second.to = "+19995550000";
    log.feed(second);
    BOOST_TEST(log.record->from == "+14155550100");
    BOOST_TEST(log.record->direction == "inbound");
    BOOST_TEST(log.record->to == "+14155551212");
    BOOST_TEST(log.record->duration_seconds.value_or(-1) == 0);
    BOOST_TEST(log.totals.at("t\ncompleted\ninbound") == 1);
    BOOST_TEST(log.totals.count("b\ncompleted\ninbound") == 0u, "a zero-second call bills nothing");
}

BOOST_AUTO_TEST_CASE(menu_selections_and_voicemail)
{
    call_log log;
    log.feed(menu_event("1", "jobs", 1000)); // the first event of a call: the record is created
    BOOST_TEST(log.record->status == "");
    BOOST_TEST(log.record->started_at_ms == 1000);
    log.feed(status_event("in-progress", 2, 1100));
    log.feed(menu_event("", "operator", 1200)); // by speech: the option's label
    call_event voicemail;
    voicemail.type = event_type::call_voicemail;
    voicemail.call_sid = sid;
    voicemail.digits = "9"; // not a selection
    voicemail.occurred_at_ms = 1300;
    log.feed(voicemail);
    log.feed(menu_event("3", "ignored when digits are there", 1400));
    BOOST_TEST((log.record->menu_selections == std::vector<std::string>{"1", "operator", "3"}));
    BOOST_TEST(log.record->status == "in-progress");
    BOOST_TEST(log.record->updated_at_ms == 1400);
    BOOST_TEST(!log.verdicts.back());
    BOOST_TEST(log.delivered.back().previous_status == "in-progress");
    BOOST_TEST(log.delivered.back().current_status == "in-progress");
    BOOST_TEST(join_selections(log.record->menu_selections) == "1,operator,3");
    BOOST_TEST((split_selections("1,operator,3") == log.record->menu_selections));
    BOOST_TEST(split_selections("").empty());
}

BOOST_AUTO_TEST_CASE(operator_fields_merge_both_ways)
{
    const outbound_call placed{
        sid, "AC" + std::string(32, '0'), "+14155550100", "+14155551212", "queued", "Ada", "interview", "wf-1", 1500};
    // The create answer first, then a callback: the callback's status, the API's fields.
    call_change c = updated(std::optional<call_record>(), placed);
    BOOST_TEST(c.record.status == "queued");
    BOOST_TEST(c.record.direction == "outbound-api");
    BOOST_TEST(c.record.started_at_ms == 1500);
    auto ringing = status_event("ringing", 1, 2000);
    ringing.direction = "outbound-api";
    const call_change after = updated(c.record, ringing);
    BOOST_TEST(after.record.status == "ringing");
    BOOST_TEST(ringing.previous_status == "queued");
    BOOST_TEST(ringing.agent_name == "Ada");
    BOOST_TEST(ringing.workflow_id == "wf-1");
    BOOST_TEST((after.totals == counters{{"c\nqueued\noutbound-api", -1}, {"c\nringing\noutbound-api", 1}}));

    // A callback first, then the create answer: the status stays, the API's fields land.
    call_log log;
    log.feed(status_event("ringing", 1, 1000));
    const call_change merged = updated(log.record, placed);
    BOOST_TEST(merged.record.status == "ringing");
    BOOST_TEST(merged.record.direction == "inbound");
    BOOST_TEST(merged.record.started_at_ms == 1000);
    BOOST_TEST(merged.record.updated_at_ms == 1000);
    BOOST_TEST(merged.record.agent_name == "Ada");
    BOOST_TEST(merged.record.call_purpose == "interview");
    BOOST_TEST(merged.totals.empty());
}

BOOST_AUTO_TEST_CASE(message_statuses)
{
    struct row {
        const char* recorded;
        const char* incoming;
        const char* expected;
    };
    const row rows[] = {
        {"queued", "sent", "sent"},
        {"sent", "delivered", "delivered"},
        {"delivered", "sent", "delivered"}, // terminal stays
        {"delivered", "read", "read"}, // except delivered → read
        {"failed", "delivered", "failed"},
        {"undelivered", "read", "read"},
        {"received", "queued", "received"},
    };
    for (const auto& r : rows) {
        BOOST_TEST_CONTEXT(r.recorded << " then " << r.incoming)
        {
            message_record m;
            m.message_sid = "SM" + std::string(32, 'c');
            m.status = r.recorded;
            m.direction = "outbound-api";
            m.error_code = "30003";
            call_event e;
            e.type = event_type::sms_status_changed;
            e.message_sid = m.message_sid;
            e.status = r.incoming;
            e.body = "late body";
            e.occurred_at_ms = 5000;
            const message_change c = updated(m, e);
            BOOST_TEST(c.record.status == r.expected);
            BOOST_TEST(e.previous_status == r.recorded);
            BOOST_TEST(e.current_status == r.expected);
            BOOST_TEST(c.record.error_code == "30003"); // an empty error code keeps the last one
            BOOST_TEST(c.record.body == "late body"); // filled where empty
            BOOST_TEST(c.record.updated_at_ms == 5000);
            BOOST_TEST(c.totals.empty()); // the direction did not change
        }
    }
}

BOOST_AUTO_TEST_CASE(messages_in_and_out)
{
    call_event in;
    in.type = event_type::sms_received;
    in.message_sid = "SM" + std::string(32, 'd');
    in.direction = "inbound";
    in.status = "received";
    in.body = "hello";
    in.num_media = 1;
    in.occurred_at_ms = 10;
    const message_change received = updated(std::optional<message_record>(), in);
    BOOST_TEST(received.record.created_at_ms == 10);
    BOOST_TEST(received.record.num_media.value_or(-1) == 1);
    BOOST_TEST((received.totals == counters{{"sms_received", 1}}));
    BOOST_TEST(in.previous_status == "");

    const outbound_message sent{
        "SM" + std::string(32, 'e'), "AC" + std::string(32, '0'), "+1415", "+1999", "queued", "hi", "Ada", 20};
    const message_change out = updated(std::optional<message_record>(), sent);
    BOOST_TEST(out.record.direction == "outbound-api");
    BOOST_TEST((out.totals == counters{{"sms_sent", 1}}));
    // A status callback that came first: the API fills what is empty and sets its agent.
    message_record early;
    early.message_sid = sent.message_sid;
    early.status = "sent";
    early.created_at_ms = 15;
    const message_change merged = updated(early, sent);
    BOOST_TEST(merged.record.status == "sent");
    BOOST_TEST(merged.record.body == "hi");
    BOOST_TEST(merged.record.agent_name == "Ada");
    BOOST_TEST(merged.record.created_at_ms == 15);
    BOOST_TEST((merged.totals == counters{{"sms_sent", 1}}), "the direction became known");
}

BOOST_AUTO_TEST_CASE(totals_read_back)
{
    counters c{{"c\ncompleted\ninbound", 3}, {"t\ncompleted\ninbound", 2}, {"d\ncompleted\ninbound", 130},
        {"b\ncompleted\ninbound", 4}, {"c\nbusy\noutbound-api", 1}, {"c\nringing\ninbound", 0},
        {"t\nringing\ninbound", 0}, {"sms_sent", 7}, {"sms_received", 2}, {"garbage", 9}, {"x\ny", 1}};
    const phone_totals t = read_totals(c);
    BOOST_REQUIRE(t.calls.size() == 2u); // a group with no calls is left out
    BOOST_TEST(t.calls[0].status == "busy");
    BOOST_TEST(t.calls[0].direction == "outbound-api");
    BOOST_TEST(t.calls[0].calls == 1);
    BOOST_TEST(t.calls[1].status == "completed");
    BOOST_TEST(t.calls[1].calls == 3);
    BOOST_TEST(t.calls[1].timed == 2);
    BOOST_TEST(t.calls[1].duration_seconds == 130);
    BOOST_TEST(t.calls[1].billed_minutes == 4);
    BOOST_TEST(t.sms_sent == 7);
    BOOST_TEST(t.sms_received == 2);
}

BOOST_AUTO_TEST_CASE(records_of_events)
{
    call_event e;
    e.type = event_type::call_voicemail;
    BOOST_TEST((record_of(e) == record_kind::none));
    e.call_sid = sid;
    BOOST_TEST((record_of(e) == record_kind::call));
    BOOST_TEST(record_key(e) == sid);
    e.type = event_type::sms_received;
    BOOST_TEST((record_of(e) == record_kind::none));
    e.message_sid = "SM1";
    BOOST_TEST((record_of(e) == record_kind::message));
    BOOST_TEST(record_key(e) == "SM1");
}

BOOST_AUTO_TEST_SUITE_END()
