// IVR menus as data: the model of a menu definition file (format version 1, documented in
// deploy/menus/README.md), its parser with one JSON-path message per problem, and the Graphviz view.
#pragma once

#include "protocol/ivr/business_hours.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::ivr {

inline constexpr int format_version = 1;

// One piece of what the caller hears.
struct prompt_part {
    enum class kind { say, play, pause } type = kind::say;
    std::string text; // say: the words; play: the audio URL
    std::string voice; // say: resolved (the part's, else the file's default)
    std::string language; // say: resolved; empty: none
    int loop = 0; // say/play: 0 = attribute left out
    int seconds = 0; // pause
};
using prompt = std::vector<prompt_part>;

enum class action_type { hangup, menu, back, repeat, dial, voicemail, sms, redirect, reject, assistant };
std::string_view to_string(action_type t) noexcept;

struct action {
    action_type type = action_type::hangup;
    prompt say; // spoken first (sms: after sending)
    std::string target; // menu: menu id; dial: number; redirect: URL; reject: reason
    // dial
    std::string caller_id;
    int timeout = 0; // seconds; 0 = Twilio's default
    // voicemail
    int max_length = 120;
    bool beep = true;
    std::string finish_on_key = "#";
    prompt after; // voicemail: said after the recording, then hang up
    // sms
    std::string body;
    prompt failed; // said instead of `say` when the message could not be sent
    // redirect
    std::string method = "POST";
    // assistant: the call is handed to a voice AI over a WebSocket (target: its wss:// URL;
    // empty: none configured, `unavailable` runs instead): <Connect><ConversationRelay>, or
    // <Connect><Stream> (Media Streams) when `stream` is set. `attributes` are the verb's TwiML
    // attributes after url, in the order written; `parameters` its <Parameter>s, whose values
    // may name the call ({call_sid}, {from}, {to}, {menu}, {trail}).
    bool stream = false;
    std::vector<std::pair<std::string, std::string>> attributes;
    std::vector<std::pair<std::string, std::string>> parameters;
    std::unique_ptr<action> unavailable;
    // dial: when nobody answers (busy, no-answer, failed, canceled); sms: what follows;
    // assistant: what follows when the session ends
    std::unique_ptr<action> next;
};

struct option {
    std::string digits; // empty: speech only
    std::vector<std::string> keywords; // normalised (lower case, single spaces)
    std::string label; // metric label and event "choice": given, else digits, else first keyword
    action act;
};

struct menu {
    std::string id;
    prompt greeting; // the first time the menu is heard
    prompt reprompt; // on a retry (defaults to the greeting)
    bool dtmf = true;
    bool speech = false;
    int num_digits = 0; // 0: attribute left out
    std::string finish_on_key; // empty: attribute left out
    int timeout = 0; // seconds; 0: attribute left out (Twilio's default, 5)
    std::string speech_timeout; // "auto" or seconds; empty: left out
    std::vector<std::string> hints;
    std::string speech_language;
    std::vector<option> options;
    prompt no_input; // said before the reprompt when nothing was entered
    prompt invalid; // said before the reprompt when nothing matched
    int retries = 2; // re-prompts before give_up
    action give_up; // default: hang up
};

struct line {
    std::string id;
    std::vector<std::string> numbers; // called numbers (To), E.164
    bool is_default = false;
    std::string start; // menu id
    std::optional<hours::schedule> hours; // with closed_menu
    std::string closed_menu;
    // What an incoming call hears, open and closed: they depend on the definition alone, so
    // parse() renders them once (ivr::prerender) instead of every call.
    std::string answer_twiml;
    std::string closed_twiml; // empty without hours
};

struct definition {
    int version = format_version;
    std::string voice;
    std::string language;
    std::vector<line> lines;
    std::map<std::string, menu, std::less<>> menus;

    // The line answering calls to `to`: the one listing the number, else the default line.
    const line& line_for(std::string_view to) const noexcept;
    const menu* find(std::string_view id) const noexcept;
};

struct problem {
    std::string path; // JSON path, e.g. $.menus.welcome.options[1].digits
    std::string message;
};

// A URL Twilio can connect an assistant to: wss://host…, at most 2048 characters, without
// spaces, control characters, quotes or angle brackets. The menu reader and the
// SWITCHBOARD_ASSISTANT_URL setting both check with it.
bool is_assistant_url(std::string_view url) noexcept;

struct parse_options {
    // Whether an IANA time zone name is known; null: every name is accepted.
    std::function<bool(std::string_view)> zone_exists;
    // The deployment's assistant WebSocket (SWITCHBOARD_ASSISTANT_URL): what an assistant
    // action without its own url connects to. Empty: such actions run their `unavailable`.
    std::string assistant_url;
};

struct parse_result {
    std::shared_ptr<const definition> def; // null when there are problems
    std::vector<problem> problems;
};

// Parses and checks a definition: unknown keys, types and ranges, dangling and unreachable
// menus, duplicate option keys, voices, languages, numbers, URLs, schedules.
parse_result parse(std::string_view json, const parse_options& opts = {});

// What an assistant action's parameter values may name: {call_sid}, {from}, {to}, {menu} (the
// menu the action was chosen in) and {trail} (the menus before it and it, '.'-separated).
struct call_facts {
    std::string_view call_sid;
    std::string_view from;
    std::string_view to;
    std::string_view menu;
    std::string_view trail;
};
// `text` with each placeholder replaced; anything else in braces is kept as written.
std::string expand(std::string_view text, const call_facts& facts);
// The first "{name}" in `text` that is not a placeholder ("" when there is none).
std::string unknown_placeholder(std::string_view text);

// Lower case ASCII, anything but letters and digits as one space, trimmed: how keywords and
// speech results are compared.
std::string normalise_speech(std::string_view text);

// The menu as a Graphviz DOT digraph: lines and menus as nodes, options as labelled edges.
std::string to_dot(const definition& def);

// The shipped default: the JobMatch line.
std::string_view default_definition_json() noexcept;

} // namespace switchboard::ivr
