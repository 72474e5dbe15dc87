// Running a menu definition: each Twilio request (call answered, Gather result, Dial result,
// recording done) becomes the next TwiML document. Where the call is in the menu travels in
// the callback URLs (menu, trail, action, attempt, round), so any replica can answer the next step
// and the Twilio signature covers that state.
#pragma once

#include "protocol/core/form.hpp"
#include "protocol/ivr/ivr_menu.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::ivr {

inline constexpr std::string_view menu_path = "/api/voice/menu";
inline constexpr std::string_view dial_path = "/api/voice/dial";
inline constexpr std::string_view recording_path = "/api/voice/recording";
inline constexpr std::string_view assistant_path = "/api/voice/assistant";

// The state in a callback URL's query.
struct call_state {
    std::string menu; // empty: the line's start menu
    std::string trail; // the menus `back` returns to, oldest first, '.'-separated
    // dial, voicemail and assistant callbacks: the action (o<index> or g, then steps: .n a
    // dial's no-answer, .t an sms's then, .e an assistant's then, .u its unavailable)
    std::string at;
    int attempt = 0;
    // Incremented when the call comes back to a state it was in (repeat, back): the same choice
    // made again is a new event.
    int round = 0;
};
call_state parse_state(const form_params& query);

// The call, from the webhook parameters.
struct call_info {
    std::string_view to; // the called number: chooses the line
    std::string_view from; // the caller: an sms action texts this number
    std::string_view call_sid; // for an assistant's {call_sid} parameters
};

// The wall-clock time in an IANA zone; nullopt when the zone is unknown (treated as open).
using clock_fn = std::function<std::optional<hours::local_time>(std::string_view zone)>;

// An sms action: the service sends it, then answers `twiml` (sent) or `twiml_failed`.
struct sms_followup {
    std::string to;
    std::string from;
    std::string body;
    std::string twiml_failed;
    std::string action; // menu id and action address: at most one SMS per call and action
};

struct step {
    std::string twiml;
    std::string line; // the line's id
    std::string menu; // selections: the menu the choice was made in; otherwise the menu entered
    std::string choice; // the option's label, "invalid" or "none"; empty: not a selection
    bool matched = false; // an option matched (a call.menu_selected event)
    std::string action; // the action run, for metrics ("" when none)
    std::optional<sms_followup> sms;
    bool restarted = false; // the URL named state this definition does not have: back to the start
    std::string assistant; // assistant_ended: conversation_relay or stream ("" when the state was stale)
};

// Renders each line's answer_twiml and closed_twiml; parse() does, once per definition.
void prerender(definition& d);

// The incoming call: the line's start menu (its closed menu outside business hours), as
// prerender() rendered it.
step answer(const definition& d, call_info call, const clock_fn& now);
// A Gather result: Digits and/or SpeechResult (both empty: no input).
step select(
    const definition& d, call_info call, const call_state& state, std::string_view digits, std::string_view speech);
// A Dial result: completed/answered ends the call, anything else runs the no_answer action.
step dial_result(const definition& d, call_info call, const call_state& state, std::string_view dial_status);
// An assistant session (<Connect>) ended: the action's `then`, else hang up.
step assistant_ended(const definition& d, call_info call, const call_state& state);
// A voicemail was recorded: the action's closing words, then hang up.
step recorded(const definition& d, call_info call, const call_state& state);

} // namespace switchboard::ivr
