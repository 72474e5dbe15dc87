// Reading one menu of a definition: prompts, input settings, options and their actions, each
// problem reported with its JSON path.
// One file because it is one recursive walk of a menu document that carries the JSON path of
// every value into its error messages.
#include "protocol/ivr/ivr_reader.hpp"

#include "protocol/core/phone.hpp"
#include "protocol/phone_api/phone_api.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <map>

namespace switchboard::ivr {
namespace {

namespace json = boost::json;

constexpr int max_say_chars = 4096; // Twilio's <Say> limit

bool is_url(std::string_view u)
{
    return (u.starts_with("https://") && u.size() > 8) || (u.starts_with("http://") && u.size() > 7)
        || (u.starts_with("/") && !u.starts_with("//"));
}

bool is_dtmf_key(char c)
{
    return (c >= '0' && c <= '9') || c == '*' || c == '#';
}

class menu_reader {
public:
    menu_reader(json_reader& json, std::string_view voice, std::string_view language, std::string_view assistant_url)
        : json_(json), voice_(voice), language_(language), assistant_url_(assistant_url)
    {
    }

    menu read_menu(const json::value& v, const std::string& path)
    {
        menu m;
        const auto* o = json_.object(v, path);
        if (o == nullptr) {
            return m;
        }
        json_.keys(*o, path,
            {"prompt", "reprompt", "input", "num_digits", "finish_on_key", "timeout", "speech", "options", "no_input",
                "invalid", "retries", "give_up", "description"});
        json_.text(*o, path, "description", 10'000);
        if (const auto* p = o->if_contains("prompt")) {
            m.greeting = read_prompt(*p, path + ".prompt");
        } else {
            json_.fail(path + ".prompt", "is required");
        }
        m.reprompt = o->contains("reprompt") ? read_prompt(o->at("reprompt"), path + ".reprompt") : m.greeting;
        const std::string input = json_.text(*o, path, "input", 16).value_or("dtmf");
        if (input == "dtmf" || input == "speech" || input == "dtmf speech" || input == "speech dtmf") {
            m.dtmf = input.find("dtmf") != std::string::npos;
            m.speech = input.find("speech") != std::string::npos;
        } else {
            json_.fail(path + ".input", "must be \"dtmf\", \"speech\" or \"dtmf speech\", got \"" + input + "\"");
        }
        m.num_digits = json_.member_integer(*o, path, "num_digits", 1, 20).value_or(0);
        m.finish_on_key = json_.text(*o, path, "finish_on_key", 1).value_or("");
        if (!m.finish_on_key.empty() && !is_dtmf_key(m.finish_on_key[0])) {
            json_.fail(path + ".finish_on_key", "must be one of 0-9, * or #");
        }
        m.timeout = json_.member_integer(*o, path, "timeout", 1, 60).value_or(0);
        m.retries = json_.member_integer(*o, path, "retries", 0, 10).value_or(2);
        if (const auto* s = json_.member_object(*o, path, "speech")) {
            read_speech(*s, path + ".speech", m);
        }
        if (o->contains("no_input")) {
            m.no_input = read_prompt(o->at("no_input"), path + ".no_input");
        }
        if (o->contains("invalid")) {
            m.invalid = read_prompt(o->at("invalid"), path + ".invalid");
        }
        if (const auto* g = o->if_contains("give_up")) {
            m.give_up = read_action(*g, path + ".give_up");
        }
        if (const auto* opts = json_.member_array(*o, path, "options", true)) {
            for (std::size_t i = 0; i < opts->size(); ++i) {
                m.options.push_back(read_option(opts->at(i), path + ".options[" + std::to_string(i) + "]", m));
            }
        }
        check_options(m, path);
        return m;
    }

    void read_speech(const json::object& o, const std::string& path, menu& m)
    {
        json_.keys(o, path, {"hints", "language", "timeout"});
        if (const auto* h = json_.member_array(o, path, "hints")) {
            for (std::size_t i = 0; i < h->size(); ++i) {
                if (auto s = json_.string(h->at(i), path + ".hints[" + std::to_string(i) + "]", 100)) {
                    m.hints.push_back(std::move(*s));
                }
            }
        }
        m.speech_language = json_.text(o, path, "language", 16).value_or("");
        if (!m.speech_language.empty() && !phone_api::is_valid_language(m.speech_language)) {
            json_.fail(path + ".language", "language must look like en-US, got \"" + m.speech_language + "\"");
        }
        if (const auto* t = o.if_contains("timeout")) {
            if (t->is_string() && t->as_string() == "auto") {
                m.speech_timeout = "auto";
            } else if (const auto n = json_.integer(*t, path + ".timeout", 1, 60)) {
                m.speech_timeout = std::to_string(*n);
            }
        }
    }

    option read_option(const json::value& v, const std::string& path, const menu& m)
    {
        option opt;
        const auto* o = json_.object(v, path);
        if (o == nullptr) {
            return opt;
        }
        json_.keys(*o, path, {"digits", "keywords", "label", "action"});
        opt.digits = json_.text(*o, path, "digits", 20).value_or("");
        if (!std::all_of(opt.digits.begin(), opt.digits.end(), is_dtmf_key)) {
            json_.fail(path + ".digits", "must be keypad keys (0-9, *, #), got \"" + opt.digits + "\"");
        } else if (m.num_digits > 0 && !opt.digits.empty() && static_cast<int>(opt.digits.size()) > m.num_digits) {
            json_.fail(path + ".digits",
                "never matches: the menu reads at most " + std::to_string(m.num_digits) + " digit(s)");
        }
        if (const auto* k = json_.member_array(*o, path, "keywords")) {
            for (std::size_t i = 0; i < k->size(); ++i) {
                const std::string p = path + ".keywords[" + std::to_string(i) + "]";
                if (auto s = json_.string(k->at(i), p, 100)) {
                    std::string n = normalise_speech(*s);
                    if (n.empty()) {
                        json_.fail(p, "has no letters or digits");
                    } else {
                        opt.keywords.push_back(std::move(n));
                    }
                }
            }
        }
        if (opt.digits.empty() && opt.keywords.empty()) {
            json_.fail(path, "needs \"digits\" or \"keywords\"");
        } else if (opt.digits.empty() && !m.speech) {
            json_.fail(path, "has only keywords but the menu's input does not include speech");
        } else if (!opt.keywords.empty() && !m.speech) {
            json_.fail(path + ".keywords", "never heard: the menu's input does not include speech");
        }
        opt.label = json_.text(*o, path, "label", 32).value_or("");
        if (opt.label.empty()) {
            opt.label = !opt.digits.empty() ? opt.digits : opt.keywords.empty() ? "" : opt.keywords.front();
        }
        if (const auto* a = o->if_contains("action")) {
            opt.act = read_action(*a, path + ".action");
        } else {
            json_.fail(path + ".action", "is required");
        }
        return opt;
    }

    void check_options(const menu& m, const std::string& path)
    {
        std::map<std::string, std::size_t> digits;
        std::map<std::string, std::size_t> words;
        for (std::size_t i = 0; i < m.options.size(); ++i) {
            const option& o = m.options[i];
            const std::string p = path + ".options[" + std::to_string(i) + "]";
            if (!o.digits.empty() && !digits.emplace(o.digits, i).second) {
                json_.fail(p + ".digits",
                    "duplicate key \"" + o.digits + "\": options[" + std::to_string(digits[o.digits]) + "] has it");
            }
            for (const auto& k : o.keywords) {
                if (const auto [it, fresh] = words.emplace(k, i); !fresh && it->second != i) {
                    json_.fail(p + ".keywords",
                        "duplicate keyword \"" + k + "\": options[" + std::to_string(it->second) + "] has it");
                }
            }
            if (o.digits.find(m.finish_on_key.empty() ? '#' : m.finish_on_key[0]) != std::string::npos) {
                json_.fail(p + ".digits", "contains the finish key, which Twilio never reports as a digit");
            }
        }
        if (m.options.empty()) {
            json_.fail(path + ".options", "defines no option");
        }
    }

    prompt read_prompt(const json::value& v, const std::string& path)
    {
        prompt out;
        if (v.is_array()) {
            const auto& a = v.as_array();
            if (a.empty()) {
                json_.fail(path, "is empty");
            }
            for (std::size_t i = 0; i < a.size(); ++i) {
                read_part(a[i], path + "[" + std::to_string(i) + "]", out);
            }
        } else {
            read_part(v, path, out);
        }
        return out;
    }

    void read_part(const json::value& v, const std::string& path, prompt& out)
    {
        prompt_part part;
        part.voice = voice_;
        part.language = language_;
        if (v.is_string()) {
            part.text = std::string(v.as_string());
            check_say(part.text, path);
            out.push_back(std::move(part));
            return;
        }
        const auto* o = json_.object(v, path, "a string, an object with say, play or pause, or an array of them");
        if (o == nullptr) {
            return;
        }
        json_.keys(*o, path, {"say", "play", "pause", "voice", "language", "loop"});
        const int kinds = static_cast<int>(o->contains("say")) + static_cast<int>(o->contains("play"))
            + static_cast<int>(o->contains("pause"));
        if (kinds != 1) {
            json_.fail(path, "needs exactly one of \"say\", \"play\" or \"pause\"");
            return;
        }
        if (o->contains("say")) {
            part.text = json_.text(*o, path, "say", max_say_chars, true).value_or("");
            check_say(part.text, path + ".say");
            if (auto voice = json_.text(*o, path, "voice", 64)) {
                if (!phone_api::is_valid_voice(*voice)) {
                    json_.fail(path + ".voice", bad_voice(*voice));
                }
                part.voice = std::move(*voice);
            }
            if (auto lang = json_.text(*o, path, "language", 16)) {
                if (!phone_api::is_valid_language(*lang)) {
                    json_.fail(path + ".language", "language must look like en-US, got \"" + *lang + "\"");
                }
                part.language = std::move(*lang);
            }
        } else if (o->contains("play")) {
            part.type = prompt_part::kind::play;
            part.text = json_.text(*o, path, "play", 2048, true).value_or("");
            if (!part.text.empty() && !is_url(part.text)) {
                json_.fail(path + ".play", "must be an http(s) URL or an absolute path");
            }
        } else {
            part.type = prompt_part::kind::pause;
            part.seconds = json_.member_integer(*o, path, "pause", 1, 60).value_or(1);
        }
        if (part.type != prompt_part::kind::pause) {
            part.loop = json_.member_integer(*o, path, "loop", 0, 100).value_or(0);
        } else if (o->contains("voice") || o->contains("language") || o->contains("loop")) {
            json_.fail(path, "a pause takes no voice, language or loop");
        }
        if (part.type == prompt_part::kind::play && (o->contains("voice") || o->contains("language"))) {
            json_.fail(path, "play takes no voice or language");
        }
        out.push_back(std::move(part));
    }

    void check_say(std::string_view text, const std::string& path)
    {
        if (text.empty()) {
            json_.fail(path, "is empty");
        } else if (text.size() > max_say_chars) {
            json_.fail(path, "is longer than " + std::to_string(max_say_chars) + " bytes");
        }
    }

    action read_action(const json::value& v, const std::string& path, int depth = 0)
    {
        action a;
        const auto* o = json_.object(v, path);
        if (o == nullptr) {
            return a;
        }
        const std::string type = json_.text(*o, path, "type", 16, true).value_or("hangup");
        static const std::map<std::string_view, action_type> types = {
            {"hangup", action_type::hangup},
            {"menu", action_type::menu},
            {"back", action_type::back},
            {"repeat", action_type::repeat},
            {"dial", action_type::dial},
            {"voicemail", action_type::voicemail},
            {"sms", action_type::sms},
            {"redirect", action_type::redirect},
            {"reject", action_type::reject},
            {"assistant", action_type::assistant},
        };
        const auto t = types.find(type);
        if (t == types.end()) {
            json_.fail(path + ".type",
                "unknown action \"" + type
                    + "\"; use hangup, menu, back, repeat, dial, voicemail, sms, redirect, reject or assistant");
            return a;
        }
        a.type = t->second;
        if (const auto* s = o->if_contains("say")) {
            a.say = read_prompt(*s, path + ".say");
        }
        switch (a.type) {
        case action_type::hangup:
        case action_type::back:
        case action_type::repeat:
            json_.keys(*o, path, {"type", "say"});
            break;
        case action_type::menu:
            json_.keys(*o, path, {"type", "say", "menu"});
            a.target = json_.text(*o, path, "menu", 64, true).value_or("");
            break;
        case action_type::dial:
            json_.keys(*o, path, {"type", "say", "number", "caller_id", "timeout", "no_answer"});
            a.target = json_.text(*o, path, "number", 16, true).value_or("");
            if (!a.target.empty() && !phone::is_e164(a.target)) {
                json_.fail(path + ".number", "must be an E.164 number such as +14155550100, got \"" + a.target + "\"");
            }
            a.caller_id = json_.text(*o, path, "caller_id", 16).value_or("");
            if (!a.caller_id.empty() && !phone::is_e164(a.caller_id)) {
                json_.fail(
                    path + ".caller_id", "must be an E.164 number such as +14155550100, got \"" + a.caller_id + "\"");
            }
            a.timeout = json_.member_integer(*o, path, "timeout", 5, 600).value_or(0);
            read_next(*o, "no_answer", path, depth, a);
            break;
        case action_type::voicemail:
            json_.keys(*o, path, {"type", "say", "max_length", "beep", "finish_on_key", "after"});
            a.max_length = json_.member_integer(*o, path, "max_length", 1, 14'400).value_or(120);
            a.beep = json_.boolean(*o, path, "beep").value_or(true);
            a.finish_on_key = json_.text(*o, path, "finish_on_key", 1).value_or("#");
            if (!a.finish_on_key.empty() && !is_dtmf_key(a.finish_on_key[0])) {
                json_.fail(path + ".finish_on_key", "must be one of 0-9, * or #");
            }
            if (const auto* after = o->if_contains("after")) {
                a.after = read_prompt(*after, path + ".after");
            }
            break;
        case action_type::sms:
            json_.keys(*o, path, {"type", "say", "body", "failed", "then"});
            a.body = json_.text(*o, path, "body", 1600, true).value_or("");
            if (const auto* f = o->if_contains("failed")) {
                a.failed = read_prompt(*f, path + ".failed");
            }
            read_next(*o, "then", path, depth, a);
            if (a.next && a.next->type == action_type::sms) {
                json_.fail(path + ".then", "an sms cannot be followed by another sms");
            }
            break;
        case action_type::redirect:
            json_.keys(*o, path, {"type", "url", "method"});
            a.target = json_.text(*o, path, "url", 2048, true).value_or("");
            if (!a.target.empty() && !is_url(a.target)) {
                json_.fail(path + ".url", "must be an http(s) URL or an absolute path");
            }
            a.method = json_.text(*o, path, "method", 4).value_or("POST");
            if (a.method != "POST" && a.method != "GET") {
                json_.fail(path + ".method", "must be POST or GET");
            }
            break;
        case action_type::reject:
            json_.keys(*o, path, {"type", "reason"});
            a.target = json_.text(*o, path, "reason", 16).value_or("rejected");
            if (a.target != "rejected" && a.target != "busy") {
                json_.fail(path + ".reason", "must be \"rejected\" or \"busy\"");
            }
            break;
        case action_type::assistant:
            read_assistant(*o, path, depth, a);
            break;
        }
        return a;
    }

    // An assistant action: exactly one of conversation_relay and stream, what follows the
    // session (`then`) and what runs when no URL is configured (`unavailable`).
    void read_assistant(const json::object& o, const std::string& path, int depth, action& a)
    {
        json_.keys(o, path, {"type", "say", "conversation_relay", "stream", "then", "unavailable"});
        const bool relay = o.contains("conversation_relay");
        a.stream = o.contains("stream");
        if (relay == a.stream) {
            json_.fail(path, "needs exactly one of \"conversation_relay\" or \"stream\"");
            return;
        }
        const std::string key = a.stream ? "stream" : "conversation_relay";
        const std::string p = path + "." + key;
        const auto* c = json_.member_object(o, path, key, true);
        if (c == nullptr) {
            return;
        }
        if (a.stream) {
            json_.keys(*c, p, {"url", "name", "parameters"});
        } else {
            std::vector<std::string_view> allowed{"url", "parameters"};
            for (const auto& attr : relay_attributes) {
                allowed.push_back(attr.key);
            }
            for (const auto& [k, v] : *c) {
                (void)v;
                if (std::find(allowed.begin(), allowed.end(), std::string_view(k)) == allowed.end()) {
                    json_.fail(json_path(p, k),
                        "is not a ConversationRelay attribute this service knows (see deploy/menus/README.md)");
                }
            }
        }
        a.target = json_.text(*c, p, "url", 2048).value_or(std::string(assistant_url_));
        if (!a.target.empty() && !is_assistant_url(a.target)) {
            json_.fail(p + ".url", "must be a wss:// URL (Twilio connects to the assistant over secure WebSockets)");
        }
        if (a.stream) {
            if (auto name = json_.text(*c, p, "name", 64)) {
                a.attributes.emplace_back("name", std::move(*name));
            }
        } else {
            read_relay_attributes(*c, p, a);
        }
        if (const auto* params = json_.member_object(*c, p, "parameters")) {
            read_parameters(*params, p + ".parameters", a);
        }
        read_next(o, "then", path, depth, a);
        if (const auto* u = o.if_contains("unavailable")) {
            if (depth >= 8) {
                json_.fail(path + ".unavailable", "nested too deep (8 levels at most)");
            } else {
                a.unavailable = std::make_unique<action>(read_action(*u, path + ".unavailable", depth + 1));
            }
        }
        if (a.target.empty() && !a.unavailable) {
            json_.fail(path,
                "has no url and SWITCHBOARD_ASSISTANT_URL is not set: give " + key
                    + ".url, or \"unavailable\" (what callers hear when no assistant is configured)");
        }
    }

    // ConversationRelay's attributes: the file's snake_case key, the TwiML attribute, its kind.
    struct relay_attribute {
        std::string_view key;
        std::string_view attribute;
        enum class kind { text, boolean, language, interrupt, word } type;
    };
    static constexpr relay_attribute relay_attributes[] = {
        {"welcome_greeting", "welcomeGreeting", relay_attribute::kind::text},
        {"welcome_greeting_interruptible", "welcomeGreetingInterruptible", relay_attribute::kind::interrupt},
        {"voice", "voice", relay_attribute::kind::word},
        {"language", "language", relay_attribute::kind::language},
        {"tts_language", "ttsLanguage", relay_attribute::kind::language},
        {"transcription_language", "transcriptionLanguage", relay_attribute::kind::language},
        {"tts_provider", "ttsProvider", relay_attribute::kind::word},
        {"transcription_provider", "transcriptionProvider", relay_attribute::kind::word},
        {"speech_model", "speechModel", relay_attribute::kind::word},
        {"interruptible", "interruptible", relay_attribute::kind::interrupt},
        {"dtmf_detection", "dtmfDetection", relay_attribute::kind::boolean},
        {"profanity_filter", "profanityFilter", relay_attribute::kind::boolean},
        {"partial_prompts", "partialPrompts", relay_attribute::kind::boolean},
        {"preemptible", "preemptible", relay_attribute::kind::boolean},
        {"hints", "hints", relay_attribute::kind::text},
        {"intelligence_service", "intelligenceService", relay_attribute::kind::word},
    };

    void read_relay_attributes(const json::object& c, const std::string& p, action& a)
    {
        for (const auto& attr : relay_attributes) {
            if (!c.contains(attr.key)) {
                continue;
            }
            const std::string at = p + "." + std::string(attr.key);
            using kind = relay_attribute::kind;
            if (attr.type == kind::boolean) {
                if (const auto b = json_.boolean(c, p, attr.key)) {
                    a.attributes.emplace_back(attr.attribute, *b ? "true" : "false");
                }
                continue;
            }
            auto v = json_.text(c, p, attr.key, attr.type == kind::text ? max_say_chars : 64, true);
            if (!v) {
                continue;
            }
            if (attr.type == kind::language && *v != "multi" && !phone_api::is_valid_language(*v)) {
                json_.fail(at, "must look like en-US (or multi), got \"" + *v + "\"");
            } else if (attr.type == kind::interrupt && *v != "any" && *v != "speech" && *v != "dtmf" && *v != "none") {
                json_.fail(at, "must be any, speech, dtmf or none, got \"" + *v + "\"");
            } else if (attr.type == kind::word && !is_word(*v)) {
                json_.fail(at, "must be letters, digits, '.', '-' or '_', got \"" + *v + "\"");
            }
            a.attributes.emplace_back(attr.attribute, std::move(*v));
        }
    }

    void read_parameters(const json::object& params, const std::string& p, action& a)
    {
        if (params.size() > 20) {
            json_.fail(p, "has more than 20 parameters");
        }
        for (const auto& [name, value] : params) {
            const std::string at = json_path(p, name);
            if (name.empty() || name.size() > 64 || !is_word(name)) {
                json_.fail(at, "a parameter name is 1 to 64 letters, digits, '.', '-' or '_'");
                continue;
            }
            auto v = json_.string(value, at, 500);
            if (!v) {
                continue;
            }
            if (std::string bad = unknown_placeholder(*v); !bad.empty()) {
                json_.fail(at, "unknown placeholder \"" + bad + "\": use {call_sid}, {from}, {to}, {menu} or {trail}");
            }
            a.parameters.emplace_back(std::string(name), std::move(*v));
        }
    }

    static bool is_word(std::string_view s)
    {
        return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
            return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.'
                || ch == '-' || ch == '_';
        });
    }

    void read_next(const json::object& o, std::string_view key, const std::string& path, int depth, action& a)
    {
        const auto* n = o.if_contains(key);
        if (n == nullptr) {
            return;
        }
        const std::string p = path + "." + std::string(key);
        if (depth >= 8) {
            json_.fail(p, "nested too deep (8 levels at most)");
            return;
        }
        a.next = std::make_unique<action>(read_action(*n, p, depth + 1));
    }

private:
    json_reader& json_;
    std::string_view voice_;
    std::string_view language_;
    std::string_view assistant_url_;
};

} // namespace

std::string bad_voice(std::string_view v)
{
    return "voice must be alice, man, woman, Polly.<Name> or Google.<voice>, got \"" + std::string(v) + "\"";
}

menu read_menu(json_reader& json, const json::value& v, const std::string& path, std::string_view voice,
    std::string_view language, std::string_view assistant_url)
{
    return menu_reader(json, voice, language, assistant_url).read_menu(v, path);
}

} // namespace switchboard::ivr
