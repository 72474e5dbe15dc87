// Reading one menu of a definition (ivr_reader.cpp), for the definition reader (ivr_menu.cpp).
#pragma once

#include "protocol/ivr/ivr_json.hpp"
#include "protocol/ivr/ivr_menu.hpp"

#include <string>
#include <string_view>

namespace switchboard::ivr {

// A menu from its JSON object; `voice` and `language` are the file's defaults for <Say>,
// `assistant_url` the deployment's default for assistant actions.
menu read_menu(json_reader& json, const boost::json::value& v, const std::string& path, std::string_view voice,
    std::string_view language, std::string_view assistant_url);

// The message for a voice Twilio does not have.
std::string bad_voice(std::string_view v);

} // namespace switchboard::ivr
