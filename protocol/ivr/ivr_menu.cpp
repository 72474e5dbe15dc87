// Reading a menu definition: the file and its lines (ivr_reader.cpp reads each menu), the checks
// across menus (references, reachability, numbers), and the model's lookups.
#include "protocol/ivr/ivr_menu.hpp"

#include "protocol/core/phone.hpp"
#include "protocol/ivr/ivr_engine.hpp"
#include "protocol/ivr/ivr_json.hpp"
#include "protocol/ivr/ivr_reader.hpp"
#include "protocol/phone_api/phone_api.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <optional>
#include <set>

namespace switchboard::ivr {
namespace {

namespace json = boost::json;

bool is_menu_id(std::string_view id)
{
    return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

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
                menu m = read_menu(json_, value, path, voice_, language_, opts_.assistant_url);
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
    if (a.unavailable) {
        targets(*a.unavailable, out);
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
    if (a.unavailable) {
        check_action_refs(d, *a.unavailable, path + ".unavailable", out);
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

namespace {

// The value a placeholder stands for, or nullopt for an unknown name.
std::optional<std::string_view> fact(std::string_view name, const call_facts& f)
{
    if (name == "call_sid") {
        return f.call_sid;
    }
    if (name == "from") {
        return f.from;
    }
    if (name == "to") {
        return f.to;
    }
    if (name == "menu") {
        return f.menu;
    }
    if (name == "trail") {
        return f.trail;
    }
    return std::nullopt;
}

} // namespace

std::string expand(std::string_view text, const call_facts& facts)
{
    std::string out;
    out.reserve(text.size());
    while (!text.empty()) {
        const std::size_t open = text.find('{');
        const std::size_t close = open == std::string_view::npos ? open : text.find('}', open);
        if (close == std::string_view::npos) {
            out.append(text);
            break;
        }
        out.append(text.substr(0, open));
        const std::string_view name = text.substr(open + 1, close - open - 1);
        if (const auto v = fact(name, facts)) {
            out.append(*v);
        } else {
            out.append(text.substr(open, close - open + 1));
        }
        text.remove_prefix(close + 1);
    }
    return out;
}

std::string unknown_placeholder(std::string_view text)
{
    for (std::size_t open = text.find('{'); open != std::string_view::npos; open = text.find('{', open + 1)) {
        const std::size_t close = text.find('}', open);
        if (close == std::string_view::npos) {
            return {};
        }
        if (!fact(text.substr(open + 1, close - open - 1), call_facts{})) {
            return std::string(text.substr(open, close - open + 1));
        }
    }
    return {};
}

bool is_assistant_url(std::string_view u) noexcept
{
    return u.starts_with("wss://") && u.size() > 6 && u.size() <= 2048 && u[6] != '/'
        && std::none_of(u.begin(), u.end(), [](char ch) { return ch <= ' ' || ch == '"' || ch == '<' || ch == '>'; });
}

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
    case action_type::assistant:
        return "assistant";
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
        prerender(*d);
        r.def = std::move(d);
    }
    return r;
}

} // namespace switchboard::ivr
