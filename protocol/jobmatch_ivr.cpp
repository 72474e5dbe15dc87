// JobMatch IVR TwiML.
#include "protocol/jobmatch_ivr.hpp"

#include "protocol/twiml.hpp"

#include <array>
#include <charconv>

namespace switchboard::jobmatch {
namespace {

std::string action_url(int attempt)
{
    if (attempt == 0) {
        return std::string(menu_path);
    }
    return std::string(menu_path) + "?attempt=" + std::to_string(attempt);
}

// Gather around the prompt; when the caller says nothing, Twilio runs the Redirect, which
// reaches the menu without Digits: the no-input branch.
void prompt(twiml::response& r, std::string_view text, int attempt)
{
    const std::string action = action_url(attempt);
    r.open("Gather", {{"numDigits", "1"}, {"action", action}, {"method", "POST"}, {"timeout", "10"}})
        .say(text, voice)
        .close();
    r.redirect(action, "POST");
}

std::string say_and_hang_up(std::string_view text)
{
    twiml::response r;
    r.say(text, voice).hangup();
    return std::move(r).str();
}

} // namespace

std::string_view to_label(choice c) noexcept
{
    switch (c) {
    case choice::services:
        return "1";
    case choice::assistant:
        return "2";
    case choice::callback:
        return "3";
    case choice::goodbye:
        return "9";
    case choice::invalid:
        return "invalid";
    case choice::none:
        return "none";
    }
    return "invalid";
}

choice classify(std::string_view digits) noexcept
{
    if (digits.empty()) {
        return choice::none;
    }
    if (digits == "1") {
        return choice::services;
    }
    if (digits == "2") {
        return choice::assistant;
    }
    if (digits == "3") {
        return choice::callback;
    }
    if (digits == "9") {
        return choice::goodbye;
    }
    return choice::invalid;
}

int parse_attempt(std::string_view value) noexcept
{
    int n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc{} || end != value.data() + value.size() || n < 0) {
        return 0;
    }
    return n > max_retries ? max_retries : n;
}

namespace {

std::string build_incoming()
{
    twiml::response r;
    prompt(r, welcome_text, 0);
    return std::move(r).str();
}

menu_outcome build_menu(choice c, int attempt)
{
    switch (c) {
    case choice::services:
        return {c, true, say_and_hang_up(services_text)};
    case choice::assistant:
        return {c, true, say_and_hang_up(assistant_text)};
    case choice::callback:
        return {c, true, say_and_hang_up(callback_text)};
    case choice::goodbye:
        return {c, true, say_and_hang_up(goodbye_text)};
    case choice::invalid:
    case choice::none:
        break;
    }
    if (attempt >= max_retries) {
        return {c, true, say_and_hang_up(give_up_text)};
    }
    twiml::response r;
    r.say(c == choice::none ? no_input_text : invalid_text, voice);
    prompt(r, options_text, attempt + 1);
    return {c, false, std::move(r).str()};
}

} // namespace

// The documents depend only on (choice, attempt): built once, then copied.
std::string incoming()
{
    static const std::string document = build_incoming();
    return document;
}

menu_outcome menu(std::string_view digits, int attempt)
{
    static const auto table = [] {
        std::array<std::array<menu_outcome, max_retries + 1>, 6> t{};
        for (int c = 0; c < 6; ++c) {
            for (int a = 0; a <= max_retries; ++a) {
                t[static_cast<std::size_t>(c)][static_cast<std::size_t>(a)] = build_menu(static_cast<choice>(c), a);
            }
        }
        return t;
    }();
    const int bounded = attempt < 0 ? 0 : attempt > max_retries ? max_retries : attempt;
    return table[static_cast<std::size_t>(classify(digits))][static_cast<std::size_t>(bounded)];
}

} // namespace switchboard::jobmatch
