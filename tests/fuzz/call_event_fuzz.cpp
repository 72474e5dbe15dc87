// Events (protocol/call_event): event documents read back from the stores, events built from
// webhook forms, timestamps and de-duplication keys. Input: JSON NUL form NUL 8 timestamp
// bytes NUL idempotency token NUL status. What to_json writes, from_json reads back unchanged.
#include "protocol/core/text.hpp"
#include "protocol/events/call_event.hpp"
#include "protocol/twilio/call_status.hpp"
#include "protocol/twilio/sms.hpp"
#include "tests/fuzz/fuzz.hpp"

#include <boost/json/parse.hpp>

using namespace switchboard;

namespace {

void round_trip(const call_event& e)
{
    if (e.id.empty()) {
        return; // from_json requires an id
    }
    const std::string json = to_json(e);
    const auto back = from_json(json);
    fuzz::check(back.has_value(), "from_json reads what to_json writes");
    fuzz::check(to_json(*back) == json, "to_json . from_json is the identity on its output");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto f = fuzz::fields(fuzz::as_text(data, size), 5);
    fuzz::total([&] {
        if (const auto e = from_json(f[0])) {
            round_trip(*e);
            // A number to_json could not have written (above INT64_MAX) is refused, not wrapped.
            const auto doc = boost::json::parse(f[0]).as_object();
            fuzz::check(!doc.at("occurred_at_ms").is_uint64(), "occurred_at_ms is in range");
            for (const auto& [key, value] : doc.at("data").as_object()) {
                fuzz::check(!value.is_uint64()
                        || (key != "sequence_number" && key != "duration_seconds" && key != "attempt"
                            && key != "num_media"),
                    "event numbers are in range");
            }
        }
        const std::int64_t at = fuzz::number(f[2]);
        // The extremes too: nothing else steers the fuzzer towards them.
        const auto low = static_cast<std::int64_t>(static_cast<std::uint64_t>(INT64_MIN) + (at & 0xFFF));
        for (const std::int64_t t : {at, low, INT64_MAX - (at & 0xFFF)}) {
            const std::string ts = format_timestamp(t);
            fuzz::check(ts.size() >= 24 && ts.back() == 'Z' && ts[ts.size() - 5] == '.',
                "a timestamp is RFC 3339 with milliseconds");
        }

        const form_params params = parse_form(f[1]);
        if (const auto u = parse_call_status_update(params)) {
            call_event e = status_changed_event(*u);
            e.id = "evt_status";
            e.occurred_at_ms = at;
            round_trip(e);
            (void)dedupe_key(f[3], u->call_sid, u->sequence_number, u->raw_status);
        }
        // Menu ids and labels come from a checked definition: UTF-8, like every decoded form value.
        const std::string menu_id = text::repair_utf8(std::string(f[4]));
        const std::string label = text::repair_utf8(std::string(f[3]));
        call_event menu = menu_selected_event(params, menu_id, label, static_cast<int>(at % 100));
        menu.id = "evt_menu";
        round_trip(menu);
        call_event voicemail = voicemail_event(params, menu_id);
        voicemail.id = "evt_voicemail";
        fuzz::check(!voicemail.duration_seconds || *voicemail.duration_seconds >= 0, "a duration is not negative");
        round_trip(voicemail);
        if (const auto m = parse_incoming_sms(params)) {
            call_event e = sms_received_event(*m);
            e.id = "evt_sms";
            round_trip(e);
        }
        if (const auto m = parse_sms_status(params)) {
            call_event e = sms_status_changed_event(*m);
            e.id = "evt_sms_status";
            round_trip(e);
            (void)dedupe_key(f[3], m->message_sid, std::nullopt, m->status);
        }
        (void)parse_event_type(f[4]);
        if (is_valid_filter(f[4])) {
            bool any = false;
            for (int t = 0; t <= static_cast<int>(last_event_type); ++t) {
                any = filter_matches(f[4], static_cast<event_type>(t)) || any;
            }
            fuzz::check(any, "a valid filter matches some event type");
        }
    });
    return 0;
}
