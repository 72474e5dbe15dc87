// Menu steps → TwiML: prompts, Gather with retries, and each action's verbs.
// One file because every step shares the signed-URL state encoding and the prompt and Gather
// builders; each action is one function of it.
#include "protocol/ivr/ivr_engine.hpp"

#include "protocol/core/text.hpp"
#include "protocol/twilio/twiml.hpp"

#include <algorithm>
#include <charconv>

namespace switchboard::ivr {
namespace {

constexpr std::size_t max_trail = 10;
constexpr int max_round = 1'000'000;

int parse_int(std::string_view s) noexcept
{
    int n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    return ec == std::errc{} && end == s.data() + s.size() && n >= 0 ? n : -1;
}

void write(twiml::response& r, const prompt& p)
{
    for (const prompt_part& part : p) {
        switch (part.type) {
        case prompt_part::kind::say: {
            twiml::attribute_list attrs;
            if (!part.voice.empty()) {
                attrs.add("voice", part.voice);
            }
            if (!part.language.empty()) {
                attrs.add("language", part.language);
            }
            if (part.loop > 0) {
                attrs.add("loop", std::to_string(part.loop));
            }
            r.element("Say", attrs, part.text);
            break;
        }
        case prompt_part::kind::play: {
            twiml::attribute_list attrs;
            if (part.loop > 0) {
                attrs.add("loop", std::to_string(part.loop));
            }
            r.element("Play", attrs, part.text);
            break;
        }
        case prompt_part::kind::pause:
            r.pause(part.seconds);
            break;
        }
    }
}

// One request's view of the definition.
class runner {
public:
    runner(const definition& d, call_info call, step& out) : runner(d, call, d.line_for(call.to), out) { }
    runner(const definition& d, call_info call, const line& l, step& out) : d_(d), call_(call), line_(l), out_(out)
    {
        out_.line = line_.id;
    }

    const menu* resolve(const call_state& s)
    {
        const menu* m = d_.find(s.menu.empty() ? std::string_view(line_.start) : std::string_view(s.menu));
        if (m == nullptr) {
            out_.restarted = true;
        }
        return m;
    }

    // The menu's prompt inside a Gather, then a Redirect back for the no-input case.
    void gather(twiml::response& r, const menu& m, std::string_view trail, int attempt, const prompt& words)
    {
        const std::string action = url(menu_path, m.id, trail, {}, attempt);
        twiml::attribute_list attrs;
        if (!m.dtmf || m.speech) {
            attrs.add("input", m.dtmf ? "dtmf speech" : "speech");
        }
        if (m.dtmf && m.num_digits > 0) {
            attrs.add("numDigits", std::to_string(m.num_digits));
        }
        if (m.dtmf && !m.finish_on_key.empty()) {
            attrs.add("finishOnKey", m.finish_on_key);
        }
        attrs.add("action", action).add("method", "POST");
        if (m.timeout > 0) {
            attrs.add("timeout", std::to_string(m.timeout));
        }
        if (m.speech && !m.speech_timeout.empty()) {
            attrs.add("speechTimeout", m.speech_timeout);
        }
        if (m.speech && !m.hints.empty()) {
            std::string hints;
            for (const auto& h : m.hints) {
                hints.append(hints.empty() ? "" : ", ").append(h);
            }
            attrs.add("hints", std::move(hints));
        }
        if (m.speech && !m.speech_language.empty()) {
            attrs.add("language", m.speech_language);
        }
        r.open("Gather", attrs);
        write(r, words);
        r.close();
        r.redirect(action, "POST");
        if (out_.menu.empty()) {
            out_.menu = m.id; // a selection keeps the menu it was made in
        }
    }

    void start(twiml::response& r, const menu& m) { gather(r, m, {}, 0, m.greeting); }

    // The request's callback URLs carry the round of the state they came from...
    void from_round(int round) noexcept { base_round_ = round_ = round; }
    // ...and a state met again (repeat, back, a trail that no longer grows) starts the next
    // one, so a caller's second identical choice is not the first one's duplicate while a
    // retried or replayed request still is.
    void revisit() noexcept { round_ = base_round_ < max_round ? base_round_ + 1 : max_round; }

    // Runs `a`, chosen in menu `m`; `at` addresses it for the Dial and Record callbacks.
    void run(twiml::response& r, const action& a, const menu& m, const call_state& s, const std::string& at)
    {
        const bool connects = a.type == action_type::assistant && !a.target.empty();
        if (a.type == action_type::assistant && !connects) {
            // No assistant configured: what callers hear instead.
            if (a.unavailable) {
                run(r, *a.unavailable, m, s, at + ".u");
            } else {
                r.hangup();
            }
            return;
        }
        if (out_.action.empty()) {
            out_.action = to_string(a.type);
        }
        if (a.type != action_type::sms) {
            write(r, a.say);
        }
        switch (a.type) {
        case action_type::hangup:
            r.hangup();
            break;
        case action_type::menu:
            if (const menu* next = d_.find(a.target)) {
                if (trail_length(s.trail) >= max_trail) {
                    revisit(); // the oldest entry drops out: the new trail may repeat an old one
                }
                gather(r, *next, push(s.trail, m.id), 0, next->greeting);
            } else {
                r.hangup(); // unreachable after parse(); a hang-up beats a loop
            }
            break;
        case action_type::back: {
            revisit();
            const auto [rest, previous] = pop(s.trail);
            const menu* prev = d_.find(previous);
            if (prev != nullptr) {
                gather(r, *prev, rest, 0, prev->greeting);
            } else {
                gather(r, m, s.trail, 0, m.greeting); // nowhere to go back to: hear this menu again
            }
            break;
        }
        case action_type::repeat:
            revisit();
            gather(r, m, s.trail, 0, m.greeting);
            break;
        case action_type::dial: {
            twiml::attribute_list attrs;
            attrs.add("action", url(dial_path, m.id, s.trail, at, 0)).add("method", "POST");
            if (a.timeout > 0) {
                attrs.add("timeout", std::to_string(a.timeout));
            }
            if (!a.caller_id.empty()) {
                attrs.add("callerId", a.caller_id);
            }
            r.element("Dial", attrs, a.target);
            break;
        }
        case action_type::voicemail: {
            twiml::attribute_list attrs;
            attrs.add("action", url(recording_path, m.id, s.trail, at, 0))
                .add("method", "POST")
                .add("maxLength", std::to_string(a.max_length))
                .add("playBeep", a.beep ? "true" : "false");
            if (!a.finish_on_key.empty()) {
                attrs.add("finishOnKey", a.finish_on_key);
            }
            r.empty("Record", attrs);
            break;
        }
        case action_type::sms: {
            // Said after sending: the words depend on whether it went out.
            twiml::response failed;
            write(r, a.say);
            write(failed, a.failed.empty() ? a.say : a.failed);
            if (a.next) {
                run(r, *a.next, m, s, at + ".t");
                run(failed, *a.next, m, s, at + ".t");
            } else {
                r.hangup();
                failed.hangup();
            }
            out_.sms = sms_followup{
                std::string(call_.from), std::string(call_.to), a.body, std::move(failed).str(), m.id + "/" + at};
            break;
        }
        case action_type::redirect:
            r.redirect(a.target, a.method);
            break;
        case action_type::reject:
            r.empty("Reject", {{"reason", a.target}});
            break;
        case action_type::assistant:
            connect(r, a, m, s, at);
            break;
        }
    }

    // <Connect action=…><ConversationRelay|Stream url=… …><Parameter …/>…</…></Connect>: Twilio
    // requests the action URL when the session ends, and the rest of this document is not run.
    void connect(twiml::response& r, const action& a, const menu& m, const call_state& s, const std::string& at)
    {
        twiml::attribute_list c;
        c.add("action", url(assistant_path, m.id, s.trail, at, 0)).add("method", "POST");
        r.open("Connect", c);
        twiml::attribute_list v;
        v.add("url", a.target);
        for (const auto& [name, value] : a.attributes) {
            v.add(name, value);
        }
        const std::string_view verb = a.stream ? "Stream" : "ConversationRelay";
        if (a.parameters.empty()) {
            r.empty(verb, v);
        } else {
            r.open(verb, v);
            const std::string trail = push(s.trail, m.id);
            const call_facts facts{call_.call_sid, call_.from, call_.to, m.id, trail};
            for (const auto& [name, value] : a.parameters) {
                r.empty("Parameter", {{"name", name}, {"value", expand(value, facts)}});
            }
            r.close();
        }
        r.close();
    }

    // The action an `at` address names in menu `m`, or null.
    static const action* locate(const menu& m, std::string_view at)
    {
        const std::size_t dot = at.find('.');
        const std::string_view head = at.substr(0, dot);
        const action* a = nullptr;
        if (head == "g") {
            a = &m.give_up;
        } else if (head.size() > 1 && head[0] == 'o') {
            const int i = parse_int(head.substr(1));
            if (i >= 0 && static_cast<std::size_t>(i) < m.options.size()) {
                a = &m.options[static_cast<std::size_t>(i)].act;
            }
        }
        std::string_view rest = dot == std::string_view::npos ? std::string_view{} : at.substr(dot);
        while (a != nullptr && !rest.empty()) {
            if ((rest.starts_with(".n") && a->type == action_type::dial)
                || (rest.starts_with(".t") && a->type == action_type::sms)
                || (rest.starts_with(".e") && a->type == action_type::assistant)) {
                a = a->next.get();
                rest.remove_prefix(2);
            } else if (rest.starts_with(".u") && a->type == action_type::assistant) {
                a = a->unavailable.get();
                rest.remove_prefix(2);
            } else {
                return nullptr;
            }
        }
        return a;
    }

    std::string url(
        std::string_view path, std::string_view menu_id, std::string_view trail, std::string_view at, int attempt) const
    {
        std::string u(path);
        char sep = '?';
        // Values are percent-encoded: a trail or `at` from a request must not add parameters
        // ("x%26menu%3Devil" stays one trail value). Ids and trails of our own need no escapes,
        // so their URLs are unchanged.
        const auto param = [&](std::string_view name, std::string_view value) {
            u.append(1, sep).append(name).append("=").append(text::percent_encode(value, text::is_querystring_safe));
            sep = '&';
        };
        // The start menu is implied by the called number: the shipped default keeps its
        // foundation URLs (/api/voice/menu, /api/voice/menu?attempt=1).
        if (menu_id != line_.start || !at.empty()) {
            param("menu", menu_id);
        }
        if (!trail.empty()) {
            param("trail", trail);
        }
        if (!at.empty()) {
            param("at", at);
        }
        if (attempt > 0) {
            param("attempt", std::to_string(attempt));
        }
        if (round_ > 0) {
            param("round", std::to_string(round_));
        }
        return u;
    }

    const line& current_line() const noexcept { return line_; }

private:
    static std::size_t trail_length(std::string_view trail)
    {
        return trail.empty() ? 0 : static_cast<std::size_t>(std::count(trail.begin(), trail.end(), '.')) + 1;
    }
    static std::string push(std::string_view trail, std::string_view id)
    {
        std::string t(trail);
        t.append(t.empty() ? "" : ".").append(id);
        // Bounded: the oldest entries go first.
        std::size_t count = static_cast<std::size_t>(std::count(t.begin(), t.end(), '.')) + 1;
        while (count-- > max_trail) {
            t.erase(0, t.find('.') + 1);
        }
        return t;
    }
    static std::pair<std::string_view, std::string_view> pop(std::string_view trail)
    {
        const std::size_t dot = trail.rfind('.');
        if (dot == std::string_view::npos) {
            return {{}, trail};
        }
        return {trail.substr(0, dot), trail.substr(dot + 1)};
    }

    const definition& d_;
    call_info call_;
    const line& line_;
    step& out_;
    int base_round_ = 0;
    int round_ = 0;
};

// `said`: the normalised speech with a space on each side, so keywords match whole words.
bool heard(const option& o, std::string_view said)
{
    if (!o.digits.empty() && said == " " + o.digits + " ") {
        return true; // "1" spoken and transcribed as a digit
    }
    for (const auto& k : o.keywords) {
        if (said.find(" " + k + " ") != std::string::npos) {
            return true;
        }
    }
    return false;
}

// After a failed step in a menu we could not find: the start menu again.
step restart(runner& run, const definition& d, step& out)
{
    twiml::response r;
    if (const menu* start = d.find(run.current_line().start)) {
        run.start(r, *start);
    } else {
        r.hangup();
    }
    out.twiml = std::move(r).str();
    out.restarted = true;
    return out;
}

// The callback of the action `state.at` names (a dial's result, an assistant session's end):
// `answer` writes what follows; a state this definition does not have restarts the caller.
template <class Answer>
step after_action(const definition& d, call_info call, const call_state& state, action_type type, Answer answer)
{
    step out;
    runner run(d, call, out);
    run.from_round(state.round);
    const menu* m = run.resolve(state);
    const action* a = m == nullptr ? nullptr : runner::locate(*m, state.at);
    if (a == nullptr || a->type != type) {
        return restart(run, d, out);
    }
    twiml::response r;
    answer(run, r, *m, *a, out);
    out.twiml = std::move(r).str();
    return out;
}

// What follows action `a`: its `next` (addressed as `state.at` + `step_suffix`), else hang up.
void then_or_hang_up(runner& run, twiml::response& r, const menu& m, const action& a, const call_state& state,
    std::string_view step_suffix, step& out)
{
    if (a.next) {
        run.run(r, *a.next, m, state, state.at + std::string(step_suffix));
    } else {
        out.action = "hangup";
        r.hangup();
    }
}

} // namespace

call_state parse_state(const form_params& query)
{
    call_state s;
    s.menu = query.get("menu");
    s.trail = query.get("trail");
    s.at = query.get("at");
    const int attempt = parse_int(query.get("attempt"));
    s.attempt = attempt < 0 ? 0 : std::min(attempt, 100);
    const int round = parse_int(query.get("round"));
    s.round = round < 0 ? 0 : std::min(round, max_round);
    return s;
}

namespace {

// Menu `id` as line `l` answers a call with it (hang up when the definition has no such menu).
std::string render_answer(const definition& d, const line& l, std::string_view id)
{
    step out;
    runner run(d, {}, l, out);
    twiml::response r;
    if (const menu* m = d.find(id)) {
        run.start(r, *m);
    } else {
        r.hangup();
    }
    return std::move(r).str();
}

} // namespace

void prerender(definition& d)
{
    for (line& l : d.lines) {
        l.answer_twiml = render_answer(d, l, l.start);
        l.closed_twiml = l.hours ? render_answer(d, l, l.closed_menu) : std::string();
    }
}

step answer(const definition& d, call_info call, const clock_fn& now)
{
    const line& l = d.line_for(call.to);
    bool closed = false;
    if (l.hours) {
        const auto t = now ? now(l.hours->time_zone) : std::nullopt;
        closed = t && !hours::is_open(*l.hours, *t);
    }
    step out;
    out.line = l.id;
    const std::string& id = closed ? l.closed_menu : l.start;
    if (d.find(id) != nullptr) {
        out.menu = id;
    }
    out.twiml = closed ? l.closed_twiml : l.answer_twiml;
    return out;
}

step select(
    const definition& d, call_info call, const call_state& state, std::string_view digits, std::string_view speech)
{
    step out;
    runner run(d, call, out);
    run.from_round(state.round);
    const menu* m = run.resolve(state);
    if (m == nullptr) {
        return restart(run, d, out);
    }
    out.menu = m->id;
    const std::string said = " " + normalise_speech(speech) + " "; // once, not per option
    for (std::size_t i = 0; i < m->options.size(); ++i) {
        const option& o = m->options[i];
        const bool by_digits = m->dtmf && !digits.empty() && o.digits == digits;
        const bool by_speech = m->speech && digits.empty() && !speech.empty() && heard(o, said);
        if (by_digits || by_speech) {
            out.choice = o.label;
            out.matched = true;
            twiml::response r;
            run.run(r, o.act, *m, state, "o" + std::to_string(i));
            out.twiml = std::move(r).str();
            return out;
        }
    }
    const bool nothing = digits.empty() && speech.empty();
    out.choice = nothing ? "none" : "invalid";
    twiml::response r;
    if (state.attempt >= m->retries) {
        run.run(r, m->give_up, *m, state, "g");
    } else {
        write(r, nothing ? m->no_input : m->invalid);
        run.gather(r, *m, state.trail, state.attempt + 1, m->reprompt);
        out.menu = m->id;
    }
    out.twiml = std::move(r).str();
    return out;
}

step dial_result(const definition& d, call_info call, const call_state& state, std::string_view dial_status)
{
    return after_action(d, call, state, action_type::dial,
        [&](runner& run, twiml::response& r, const menu& m, const action& a, step& out) {
            if (dial_status == "completed" || dial_status == "answered") {
                out.action = "hangup";
                r.hangup();
            } else {
                then_or_hang_up(run, r, m, a, state, ".n", out);
            }
        });
}

step assistant_ended(const definition& d, call_info call, const call_state& state)
{
    return after_action(d, call, state, action_type::assistant,
        [&](runner& run, twiml::response& r, const menu& m, const action& a, step& out) {
            out.menu = m.id;
            out.assistant = a.stream ? "stream" : "conversation_relay";
            then_or_hang_up(run, r, m, a, state, ".e", out);
        });
}

step recorded(const definition& d, call_info call, const call_state& state)
{
    step out;
    runner run(d, call, out);
    run.from_round(state.round);
    const menu* m = run.resolve(state);
    const action* a = m == nullptr ? nullptr : runner::locate(*m, state.at);
    twiml::response r;
    if (a != nullptr && a->type == action_type::voicemail) {
        write(r, a->after);
    }
    out.menu = m == nullptr ? "" : m->id;
    out.action = "hangup";
    r.hangup(); // the recording is kept even when the state is stale: never lose a message
    out.twiml = std::move(r).str();
    return out;
}

} // namespace switchboard::ivr
