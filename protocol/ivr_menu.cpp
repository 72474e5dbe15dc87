// Reading a menu definition: JSON → model, with one message per problem and its JSON path.
#include "protocol/ivr_menu.hpp"

#include "protocol/ivr_json.hpp"
#include "protocol/phone.hpp"
#include "protocol/phone_api.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <set>

namespace switchboard::ivr {
namespace {

namespace json = boost::json;

constexpr int max_say_chars = 4096; // Twilio's <Say> limit

bool is_menu_id(std::string_view id)
{
    return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

bool is_url(std::string_view u)
{
    return (u.starts_with("https://") && u.size() > 8) || (u.starts_with("http://") && u.size() > 7)
        || (u.starts_with("/") && !u.starts_with("//"));
}

bool is_dtmf_key(char c)
{
    return (c >= '0' && c <= '9') || c == '*' || c == '#';
}

// Reads one definition, collecting problems instead of stopping at the first.
class definition_reader {
public:
    definition_reader(std::vector<problem>& out, const parse_options& opts) : json_(out), opts_(opts) { }

    definition read(const json::value& root)
    {
        definition d;
        const auto* o = json_.object(root, "$");
        if (o == nullptr) {
            return d;
        }
        json_.keys(*o, "$", {"version", "voice", "language", "lines", "menus", "description"});
        if (const auto* v = o->if_contains("version"); v == nullptr) {
            json_.fail("$.version", "is required (the format version, 1)");
        } else if (json_.integer(*v, "$.version", 1, 1000).value_or(format_version) != format_version) {
            json_.fail("$.version", "unsupported version " + json::serialize(*v) + "; this build reads version 1");
        }
        d.voice = json_.text(*o, "$", "voice", 64).value_or("");
        if (!d.voice.empty() && !phone_api::is_valid_voice(d.voice)) {
            json_.fail("$.voice", bad_voice(d.voice));
        }
        d.language = json_.text(*o, "$", "language", 16).value_or("");
        if (!d.language.empty() && !phone_api::is_valid_language(d.language)) {
            json_.fail("$.language", "language must look like en-US, got \"" + d.language + "\"");
        }
        voice_ = d.voice;
        language_ = d.language;
        json_.text(*o, "$", "description", 10'000);
        if (const auto* menus = json_.member_object(*o, "$", "menus", true)) {
            if (menus->empty()) {
                json_.fail("$.menus", "defines no menu");
            }
            for (const auto& [key, value] : *menus) {
                const std::string path = json_path("$.menus", key);
                if (!is_menu_id(key)) {
                    json_.fail(path, "menu id must be 1 to 64 letters, digits, '_' or '-'");
                    continue;
                }
                menu m = read_menu(value, path);
                m.id = key;
                d.menus.emplace(std::string(key), std::move(m));
            }
        }
        if (const auto* lines = json_.member_object(*o, "$", "lines", true)) {
            if (lines->empty()) {
                json_.fail("$.lines", "defines no line");
            }
            for (const auto& [key, value] : *lines) {
                line l = read_line(value, json_path("$.lines", key));
                l.id = key;
                d.lines.push_back(std::move(l));
            }
        }
        return d;
    }

private:
    static std::string bad_voice(std::string_view v)
    {
        return "voice must be alice, man, woman, Polly.<Name> or Google.<voice>, got \"" + std::string(v) + "\"";
    }

    line read_line(const json::value& v, const std::string& path)
    {
        line l;
        const auto* o = json_.object(v, path);
        if (o == nullptr) {
            return l;
        }
        json_.keys(*o, path, {"numbers", "default", "menu", "hours", "description"});
        json_.text(*o, path, "description", 10'000);
        l.is_default = json_.boolean(*o, path, "default").value_or(false);
        l.start = json_.text(*o, path, "menu", 64, true).value_or("");
        if (const auto* numbers = json_.member_array(*o, path, "numbers")) {
            for (std::size_t i = 0; i < numbers->size(); ++i) {
                const std::string p = path + ".numbers[" + std::to_string(i) + "]";
                if (auto n = json_.string(numbers->at(i), p, 16)) {
                    if (!phone::is_e164(*n)) {
                        json_.fail(p, "must be an E.164 number such as +14155550100, got \"" + *n + "\"");
                    }
                    l.numbers.push_back(std::move(*n));
                }
            }
        }
        if (const auto* h = json_.member_object(*o, path, "hours")) {
            read_hours(*h, path + ".hours", l);
        }
        return l;
    }

    void read_hours(const json::object& o, const std::string& path, line& l)
    {
        json_.keys(o, path, {"time_zone", "weekly", "holidays", "closed_menu"});
        hours::schedule s;
        s.time_zone = json_.text(o, path, "time_zone", 64, true).value_or("");
        if (!s.time_zone.empty() && opts_.zone_exists && !opts_.zone_exists(s.time_zone)) {
            json_.fail(
                path + ".time_zone", "unknown time zone \"" + s.time_zone + "\" (an IANA name such as Europe/Paris)");
        }
        l.closed_menu = json_.text(o, path, "closed_menu", 64, true).value_or("");
        if (const auto* weekly = json_.member_object(o, path, "weekly", true)) {
            for (const auto& [day, ranges] : *weekly) {
                const std::string p = json_path(path + ".weekly", day);
                const auto wd = hours::parse_weekday(day);
                if (!wd) {
                    json_.fail(p, "unknown day; use sun, mon, tue, wed, thu, fri, sat");
                    continue;
                }
                const auto* a = json_.array(ranges, p);
                for (std::size_t i = 0; a != nullptr && i < a->size(); ++i) {
                    const std::string ip = p + "[" + std::to_string(i) + "]";
                    const auto text = json_.string(a->at(i), ip, 16);
                    if (!text) {
                        continue;
                    }
                    if (const auto in = hours::parse_interval(*text)) {
                        s.weekly[*wd].push_back(*in);
                    } else {
                        json_.fail(ip, "must be \"HH:MM-HH:MM\" with the start before the end, got \"" + *text + "\"");
                    }
                }
            }
        }
        if (const auto* hol = json_.member_array(o, path, "holidays")) {
            for (std::size_t i = 0; i < hol->size(); ++i) {
                const std::string p = path + ".holidays[" + std::to_string(i) + "]";
                if (auto d = json_.string(hol->at(i), p, 10)) {
                    if (!hours::is_valid_date(*d)) {
                        json_.fail(p, "must be a date YYYY-MM-DD, got \"" + *d + "\"");
                    }
                    s.holidays.push_back(std::move(*d));
                }
            }
        }
        l.hours = std::move(s);
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
        };
        const auto t = types.find(type);
        if (t == types.end()) {
            json_.fail(path + ".type",
                "unknown action \"" + type
                    + "\"; use hangup, menu, back, repeat, dial, voicemail, sms, redirect or reject");
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
        }
        return a;
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

    json_reader json_;
    const parse_options& opts_;
    std::string voice_;
    std::string language_;
};

// Every menu id an action can lead to (directly or through its fallbacks).
void targets(const action& a, std::vector<std::string_view>& out)
{
    if (a.type == action_type::menu) {
        out.push_back(a.target);
    }
    if (a.next) {
        targets(*a.next, out);
    }
}

void check_action_refs(const definition& d, const action& a, const std::string& path, std::vector<problem>& out)
{
    if (a.type == action_type::menu && !a.target.empty() && d.find(a.target) == nullptr) {
        out.push_back({path + ".menu", "refers to menu \"" + a.target + "\", which is not defined"});
    }
    if (a.next) {
        check_action_refs(d, *a.next, path + (a.type == action_type::dial ? ".no_answer" : ".then"), out);
    }
}

// Dangling references, reachability, and the lines' numbers and defaults.
void check_graph(const definition& d, std::vector<problem>& out)
{
    std::map<std::string, std::string> number_owner;
    int defaults = 0;
    for (const line& l : d.lines) {
        const std::string path = json_path("$.lines", l.id);
        if (!l.start.empty() && d.find(l.start) == nullptr) {
            out.push_back({path + ".menu", "refers to menu \"" + l.start + "\", which is not defined"});
        }
        if (l.hours && !l.closed_menu.empty() && d.find(l.closed_menu) == nullptr) {
            out.push_back(
                {path + ".hours.closed_menu", "refers to menu \"" + l.closed_menu + "\", which is not defined"});
        }
        for (const auto& n : l.numbers) {
            if (const auto [it, fresh] = number_owner.emplace(n, l.id); !fresh) {
                out.push_back(
                    {path + ".numbers", "number " + n + " is already answered by line \"" + it->second + "\""});
            }
        }
        defaults += l.is_default ? 1 : 0;
        if (l.numbers.empty() && !l.is_default && d.lines.size() > 1) {
            out.push_back({path, "lists no number and is not the default line: no call reaches it"});
        }
    }
    if (d.lines.size() > 1 && defaults != 1) {
        out.push_back({"$.lines",
            defaults == 0 ? "no line is marked \"default\": true (calls to other numbers need one)"
                          : "more than one line is marked \"default\": true"});
    }
    for (const auto& [id, m] : d.menus) {
        const std::string path = json_path("$.menus", id);
        for (std::size_t i = 0; i < m.options.size(); ++i) {
            check_action_refs(d, m.options[i].act, path + ".options[" + std::to_string(i) + "].action", out);
        }
        check_action_refs(d, m.give_up, path + ".give_up", out);
    }
    // Reachability from the lines' entry menus.
    std::set<std::string_view> seen;
    std::vector<std::string_view> todo;
    for (const line& l : d.lines) {
        todo.push_back(l.start);
        if (l.hours) {
            todo.push_back(l.closed_menu);
        }
    }
    while (!todo.empty()) {
        const std::string_view id = todo.back();
        todo.pop_back();
        const menu* m = d.find(id);
        if (m == nullptr || !seen.insert(m->id).second) {
            continue;
        }
        for (const auto& o : m->options) {
            targets(o.act, todo);
        }
        targets(m->give_up, todo);
    }
    for (const auto& [id, m] : d.menus) {
        if (!seen.contains(id)) {
            out.push_back({json_path("$.menus", id), "is unreachable: no line or option leads to it"});
        }
    }
}

} // namespace

std::string_view to_string(action_type t) noexcept
{
    switch (t) {
    case action_type::hangup:
        return "hangup";
    case action_type::menu:
        return "menu";
    case action_type::back:
        return "back";
    case action_type::repeat:
        return "repeat";
    case action_type::dial:
        return "dial";
    case action_type::voicemail:
        return "voicemail";
    case action_type::sms:
        return "sms";
    case action_type::redirect:
        return "redirect";
    case action_type::reject:
        return "reject";
    }
    return "hangup";
}

const line& definition::line_for(std::string_view to) const noexcept
{
    const line* fallback = &lines.front();
    for (const line& l : lines) {
        if (std::find(l.numbers.begin(), l.numbers.end(), to) != l.numbers.end()) {
            return l;
        }
        if (l.is_default) {
            fallback = &l;
        }
    }
    return *fallback;
}

const menu* definition::find(std::string_view id) const noexcept
{
    const auto it = menus.find(id);
    return it == menus.end() ? nullptr : &it->second;
}

std::string normalise_speech(std::string_view text)
{
    std::string out;
    bool space = false;
    for (const char c : text) {
        const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (static_cast<unsigned char>(c) >= 0x80); // keep UTF-8 letters as they are
        if (!alnum) {
            space = !out.empty();
            continue;
        }
        if (space) {
            out += ' ';
            space = false;
        }
        out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return out;
}

parse_result parse(std::string_view text, const parse_options& opts)
{
    parse_result r;
    if (const auto dup = first_duplicate_key(text)) {
        r.problems.push_back(*dup);
    }
    boost::system::error_code ec;
    json::parse_options po;
    po.max_depth = 64;
    const json::value root = json::parse(text, ec, {}, po);
    if (ec) {
        r.problems.push_back({"$", "not valid JSON: " + ec.message()});
        return r;
    }
    auto d = std::make_shared<definition>(definition_reader(r.problems, opts).read(root));
    check_graph(*d, r.problems);
    if (r.problems.empty()) {
        r.def = std::move(d);
    }
    return r;
}

} // namespace switchboard::ivr
