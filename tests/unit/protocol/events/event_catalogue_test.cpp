// protocol/events/event_catalogue.cpp: the catalogue matches what the event constructors and the
// record rules produce, the JSON codec encodes exactly its members, and the generated schemas.
#include "protocol/core/form.hpp"
#include "protocol/events/event_catalogue.hpp"
#include "protocol/events/records.hpp"
#include "protocol/twilio/call_status.hpp"
#include "protocol/twilio/sms.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <set>
#include <string>
#include <vector>

using namespace switchboard;

namespace {

const std::string call_sid = "CA" + std::string(32, 'a');
const std::string account_sid = "AC" + std::string(32, 'b');
const std::string message_sid = "SM" + std::string(32, 'c');

// Every parameter Twilio may send on the webhooks events are made from, all filled in.
form_params every_parameter()
{
    return parse_form("CallSid=" + call_sid + "&AccountSid=" + account_sid + "&MessageSid=" + message_sid
        + "&From=%2B14155550100&To=%2B14155550199&Direction=inbound&CallStatus=completed&SequenceNumber=4"
          "&CallDuration=61&Digits=2&SpeechResult=sales&RecordingUrl=https%3A%2F%2Fapi.twilio.com%2Fr"
          "&RecordingSid=RE1&RecordingDuration=12&SessionId=VX1&SessionStatus=ended&SessionDuration=30"
          "&HandoffData=%7B%7D&ErrorCode=64101&ErrorMessage=gone&Body=hi&NumMedia=1&MessageStatus=failed"
          "&SmsStatus=received");
}

// The fullest event of each type, as the webhooks and the record rules (with an existing record
// placed through the operator API) make it.
std::vector<call_event> fullest_events()
{
    const form_params p = every_parameter();
    std::vector<call_event> out;
    auto status = parse_call_status_update(p);
    BOOST_REQUIRE(status);
    out.push_back(status_changed_event(*status));
    call_event by_keys = menu_selected_event(p, "main", "Sales", 1);
    out.push_back(by_keys);
    out.push_back(menu_selected_event(parse_form("CallSid=" + call_sid + "&SpeechResult=sales"), "main", "Sales", 2));
    out.push_back(voicemail_event(p, "main"));
    out.push_back(assistant_ended_event(p, "main", "conversation_relay"));
    auto in = parse_incoming_sms(p);
    BOOST_REQUIRE(in);
    out.push_back(sms_received_event(*in));
    auto st = parse_sms_status(p);
    BOOST_REQUIRE(st);
    out.push_back(sms_status_changed_event(*st));
    out.push_back(subscriber_disabled_event("crm", 1'795'700'000'000, "HTTP 503", 1'795'791'845'123).event);
    out.push_back(subscriber_recovered_event("crm", 1'795'791'845'123).event);
    out.push_back(delivery_dead_lettered_event(
        "crm", "evt_" + std::string(32, '1'), "call.status_changed", 25, 503, "HTTP 503", 1)
                      .event);
    call_record call;
    call.call_sid = call_sid;
    call.status = "in-progress";
    call.agent_name = "Ana";
    call.call_purpose = "follow-up";
    call.workflow_id = "wf-1";
    message_record message;
    message.message_sid = message_sid;
    message.status = "sent";
    message.agent_name = "Ana";
    for (call_event& e : out) {
        e.id = "evt_" + std::string(32, '0');
        e.occurred_at_ms = 1'795'791'845'123;
        if (is_operational(e.type)) {
            continue; // no call or message record
        }
        if (e.call_sid.empty()) {
            (void)updated(std::optional{message}, e);
        } else {
            (void)updated(std::optional{call}, e);
        }
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(event_catalogue)

BOOST_AUTO_TEST_CASE(every_type_once_in_order_and_every_field_well_formed)
{
    const auto infos = event_type_infos();
    BOOST_REQUIRE(infos.size() == static_cast<std::size_t>(last_event_type) + 1);
    for (std::size_t i = 0; i < infos.size(); ++i) {
        BOOST_TEST(static_cast<std::size_t>(infos[i].type) == i);
        BOOST_TEST(!infos[i].description.empty());
    }
    std::set<std::string_view> names;
    for (const event_field& f : event_fields()) {
        BOOST_TEST_CONTEXT(f.name)
        {
            BOOST_TEST(names.insert(f.name).second); // unique
            BOOST_TEST(((f.text != nullptr) != (f.number != nullptr))); // one kind
            BOOST_TEST((f.required_by & ~f.carried_by) == 0u); // required only where carried
            BOOST_TEST(f.carried_by != 0u);
            BOOST_TEST(!f.description.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(what_the_events_carry_is_what_the_catalogue_says)
{
    std::set<std::string> seen; // every field of the catalogue appears in some event
    for (const call_event& e : fullest_events()) {
        BOOST_TEST_CONTEXT(to_string(e.type))
        {
            const auto doc = boost::json::parse(to_json(e)).as_object();
            const event_types bit = type_bit(e.type);
            std::set<std::string> keys;
            for (const auto& kv : doc.at("data").as_object()) {
                keys.insert(std::string(kv.key()));
                seen.insert(std::string(kv.key()));
            }
            for (const event_field& f : event_fields()) {
                const bool present = keys.count(std::string(f.name)) != 0;
                BOOST_TEST_CONTEXT(f.name)
                {
                    if (present) {
                        BOOST_TEST((f.carried_by & bit) != 0u); // nothing the schema refuses
                    }
                    if ((f.required_by & bit) != 0) {
                        BOOST_TEST(present);
                    }
                }
            }
        }
    }
    for (const event_field& f : event_fields()) {
        BOOST_TEST_CONTEXT(f.name)
        {
            BOOST_TEST(seen.count(std::string(f.name)) == 1u);
        }
    }
}

BOOST_AUTO_TEST_CASE(the_codec_round_trips_every_member)
{
    for (const call_event& e : fullest_events()) {
        const std::string json = to_json(e);
        const auto back = from_json(json);
        BOOST_REQUIRE(back);
        BOOST_TEST(to_json(*back) == json);
        BOOST_TEST((back->type == e.type));
    }
}

BOOST_AUTO_TEST_CASE(schemas_name_the_type_its_members_and_refuse_the_rest)
{
    const auto s = boost::json::parse(event_schema_json(event_type::call_voicemail)).as_object();
    BOOST_TEST(s.at("$schema").as_string() == "https://json-schema.org/draft/2020-12/schema");
    BOOST_TEST(s.at("properties").at("type").at("const").as_string() == "call.voicemail");
    BOOST_TEST(s.at("additionalProperties").as_bool() == false);
    const auto& data = s.at("properties").at("data").as_object();
    BOOST_TEST(data.at("additionalProperties").as_bool() == false);
    std::set<std::string> required;
    for (const auto& v : data.at("required").as_array()) {
        required.insert(std::string(v.as_string()));
    }
    BOOST_TEST((required == std::set<std::string>{"call_sid", "menu", "recording_url"}));
    const auto& props = data.at("properties").as_object();
    BOOST_TEST(props.at("duration_seconds").at("type").as_string() == "integer");
    BOOST_TEST(props.at("recording_url").at("type").as_string() == "string");
    BOOST_TEST(!props.contains("digits")); // a menu choice's member, not a voicemail's

    const auto catalogue = boost::json::parse(event_catalogue_json()).as_object();
    const auto& list = catalogue.at("event_types").as_array();
    BOOST_REQUIRE(list.size() == event_type_infos().size());
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto type = static_cast<event_type>(i);
        BOOST_TEST(list[i].at("type").as_string() == to_string(type));
        BOOST_TEST(boost::json::serialize(list[i].at("schema")) == event_schema_json(type));
    }
}

BOOST_AUTO_TEST_SUITE_END()
