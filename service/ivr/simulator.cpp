// The call simulator: Twilio's side of one inbound call, over real HTTP, with signed requests.
// One file because it is one Asio program (resolve, connect, sign, post, follow the TwiML).
#include "service/ivr/simulator.hpp"

#include "protocol/core/crypto.hpp"
#include "protocol/core/form.hpp"
#include "protocol/core/text.hpp"
#include "protocol/twilio/twilio_signature.hpp"
#include "protocol/twilio/twiml_reader.hpp"
#include "service/app/cli.hpp"
#include "service/client/http_client.hpp"

#include <boost/asio/co_spawn.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <unistd.h>

namespace switchboard {
namespace {

struct next_request {
    std::string method = "POST";
    std::string url; // as the document wrote it: a path or an absolute URL
    form_params extra; // Digits, SpeechResult, DialCallStatus, Recording…
};

std::string random_sid(std::string_view prefix)
{
    const std::string bytes = crypto::random_bytes(16);
    return std::string(prefix) + crypto::hex_lower(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

bool is_keys(std::string_view s)
{
    return !s.empty() && s.find_first_not_of("0123456789*#") == std::string_view::npos;
}

std::string voice_of(const twiml::node& n)
{
    std::string v(n.attribute("voice"));
    if (!n.attribute("language").empty()) {
        v.append(v.empty() ? "" : ", ").append(n.attribute("language"));
    }
    return v.empty() ? std::string() : " (" + v + ")";
}

class call_session {
public:
    call_session(const simulation& sim, std::istream& in, std::ostream& out, http_client& client, http_url base)
        : sim_(sim), in_(in), out_(out), client_(client), base_(std::move(base))
    {
        call_sid_ = sim.call_sid.empty() ? random_sid("CA") : sim.call_sid;
        interactive_ = !sim.inputs && isatty(STDIN_FILENO) != 0;
    }

    task<int> run()
    {
        out_ << "call " << call_sid_ << " from " << sim_.from << " to " << sim_.to << " at " << sim_.url << "\n";
        std::optional<next_request> step = next_request{"POST", sim_.path, {}};
        bool first = true;
        for (int n = 0; step && n < sim_.max_steps; ++n) {
            std::string document;
            if (!co_await fetch(*step, first, document)) {
                co_return 1;
            }
            first = false;
            std::string problem;
            auto doc = twiml::read(document, &problem);
            if (!doc || doc->name != "Response") {
                out_ << "error: the answer is not TwiML: " << (doc ? "root <" + doc->name + ">" : problem) << "\n";
                co_return 1;
            }
            step = walk(*doc);
        }
        if (step) {
            out_ << "error: still going after " << sim_.max_steps << " requests (a loop?)\n";
            co_return 1;
        }
        co_return 0;
    }

private:
    // One signed webhook request; false (reported) unless it answers 200 with a body.
    task<bool> fetch(const next_request& step, bool first, std::string& document)
    {
        std::string target = step.url;
        if (target.starts_with("http://") || target.starts_with("https://")) {
            const auto u = parse_http_url(target);
            if (!u || u->origin.host != base_.origin.host || u->origin.port != base_.origin.port) {
                out_ << "error: the call leaves the instance: " << target << "\n";
                co_return false;
            }
            target = (u->path.empty() ? "/" : u->path) + (u->has_query ? "?" + u->query : "");
        } else if (!target.starts_with("/")) {
            target = "/" + target;
        }
        form_params params;
        params.add("AccountSid", "AC" + std::string(32, '0'));
        params.add("ApiVersion", "2010-04-01");
        params.add("CallSid", call_sid_);
        params.add("CallStatus", first ? "ringing" : "in-progress");
        params.add("Called", sim_.to);
        params.add("Caller", sim_.from);
        params.add("Direction", "inbound");
        params.add("From", sim_.from);
        params.add("To", sim_.to);
        for (std::size_t i = 0; i < step.extra.size(); ++i) {
            params.add(step.extra[i].name, step.extra[i].value);
        }
        current_ = target;
        const bool get = step.method == "GET";
        std::string body = form_encode(params);
        if (get) {
            target += (target.find('?') == std::string::npos ? "?" : "&") + body;
            body.clear();
        }
        const std::string signed_base = sim_.public_url.empty() ? sim_.url : sim_.public_url;
        http_request req{get ? http::verb::get : http::verb::post, base_.path + target, 11};
        req.set("X-Twilio-Signature",
            twilio_signature::compute(sim_.token, signed_base + target, get ? form_params{} : params));
        req.set("I-Twilio-Idempotency-Token", random_sid(""));
        req.set(http::field::user_agent, "TwilioProxy/1.1 (switchboard simulate)");
        if (!get) {
            req.set(http::field::content_type, "application/x-www-form-urlencoded; charset=UTF-8");
            req.body() = std::move(body);
        }
        req.prepare_payload();
        auto r = co_await client_.send(req, std::chrono::steady_clock::now() + std::chrono::seconds(15), false);
        const std::string shown = get ? target.substr(0, target.find('?')) : target; // a GET's query is the call
        out_ << step.method << " " << shown << " -> " << (r.status == 0 ? r.error : std::to_string(r.status)) << "\n";
        if (r.status != 200) {
            if (r.status != 0) {
                out_ << "error: " << r.response.body() << "\n";
            }
            co_return false;
        }
        document = r.response.body();
        co_return true;
    }

    // Plays the document's verbs in order; the next request, or nullopt when the call ended.
    std::optional<next_request> walk(const twiml::node& response)
    {
        for (const twiml::node& verb : response.children) {
            if (verb.name == "Say" || verb.name == "Play" || verb.name == "Pause") {
                hear(verb);
            } else if (verb.name == "Gather") {
                for (const auto& inner : verb.children) {
                    hear(inner);
                }
                if (auto next = gather(verb)) {
                    return next;
                }
                if (hung_up_) {
                    return std::nullopt;
                }
            } else if (verb.name == "Dial") {
                if (auto next = dial(verb)) {
                    return next;
                }
                if (hung_up_) {
                    return std::nullopt;
                }
            } else if (verb.name == "Record") {
                if (auto next = record(verb)) {
                    return next;
                }
                if (hung_up_) {
                    return std::nullopt;
                }
            } else if (verb.name == "Connect") {
                // Twilio runs no verb after <Connect>: the session's end requests its action.
                auto next = connect(verb);
                if (next || hung_up_) {
                    return next;
                }
                out_ << "call ended: <Connect> has no action\n";
                return std::nullopt;
            } else if (verb.name == "Redirect") {
                out_ << "  redirect: " << verb.text << "\n";
                return next_request{method_of(verb), verb.text, {}};
            } else if (verb.name == "Hangup") {
                out_ << "  hangup\ncall ended by the IVR\n";
                return std::nullopt;
            } else if (verb.name == "Reject") {
                out_ << "  reject (" << (verb.attribute("reason").empty() ? "rejected" : verb.attribute("reason"))
                     << ")\ncall rejected\n";
                return std::nullopt;
            } else {
                out_ << "  (" << verb.name << ": not simulated, skipped)\n";
            }
        }
        out_ << "call ended: the document has no more verbs\n";
        return std::nullopt;
    }

    void hear(const twiml::node& n)
    {
        if (n.name == "Say") {
            out_ << "  say" << voice_of(n) << ": " << n.text << "\n";
        } else if (n.name == "Play") {
            out_ << "  play: " << n.text << "\n";
        } else if (n.name == "Pause") {
            out_ << "  pause: " << (n.attribute("length").empty() ? "1" : n.attribute("length")) << " s\n";
        }
    }

    static std::string method_of(const twiml::node& n) { return n.attribute("method") == "GET" ? "GET" : "POST"; }

    std::optional<next_request> gather(const twiml::node& g)
    {
        const std::string_view input = g.attribute("input").empty() ? "dtmf" : g.attribute("input");
        out_ << "  gather: " << input;
        if (!g.attribute("numDigits").empty()) {
            out_ << ", " << g.attribute("numDigits") << " digit(s)";
        }
        if (!g.attribute("hints").empty()) {
            out_ << ", hints: " << g.attribute("hints");
        }
        out_ << "\n";
        const auto answer = next_input("keys, say:words, - for silence, hangup");
        if (!answer || *answer == "hangup") {
            caller_hangs_up();
            return std::nullopt;
        }
        next_request next{method_of(g), std::string(g.attribute("action")), {}};
        const bool keys = input.find("dtmf") != std::string_view::npos;
        const bool speech = input.find("speech") != std::string_view::npos;
        if ((answer->starts_with("say:") && !speech) || (is_keys(*answer) && !keys)) {
            out_ << "caller " << (speech ? "presses keys" : "speaks") << ", but this gather listens for "
                 << (speech ? "speech" : "keys") << " only\n";
            return std::nullopt; // as silence: Twilio goes on with the next verb
        }
        if (answer->starts_with("say:")) {
            out_ << "caller says \"" << answer->substr(4) << "\"\n";
            next.extra.add("SpeechResult", answer->substr(4));
            next.extra.add("Confidence", "0.92");
        } else if (is_keys(*answer)) {
            const std::string finish
                = g.attribute("finishOnKey").empty() ? "#" : std::string(g.attribute("finishOnKey"));
            std::string digits = *answer;
            std::string finished;
            if (const auto at = digits.find(finish); at != std::string::npos) {
                digits.resize(at);
                finished = finish;
            }
            out_ << "caller presses " << *answer << "\n";
            next.extra.add("Digits", digits);
            next.extra.add("FinishedOnKey", finished);
        } else {
            out_ << "caller says nothing\n";
            return std::nullopt; // Twilio goes on with the next verb
        }
        if (next.url.empty()) {
            next.url = current_;
        }
        return next;
    }

    std::optional<next_request> dial(const twiml::node& d)
    {
        out_ << "  dial: " << d.text;
        if (!d.attribute("callerId").empty()) {
            out_ << " (caller id " << d.attribute("callerId") << ")";
        }
        out_ << "\n";
        const auto answer = next_input("answered, no-answer, busy, failed, hangup");
        if (!answer || *answer == "hangup") {
            caller_hangs_up();
            return std::nullopt;
        }
        const std::string status = *answer == "answered" || *answer == "completed" ? "completed" : *answer;
        out_ << "dial outcome: " << status << "\n";
        if (d.attribute("action").empty()) {
            return std::nullopt;
        }
        next_request next{method_of(d), std::string(d.attribute("action")), {}};
        next.extra.add("DialCallStatus", status);
        next.extra.add("DialCallDuration", status == "completed" ? "42" : "0");
        return next;
    }

    std::optional<next_request> record(const twiml::node& r)
    {
        out_ << "  record: up to " << (r.attribute("maxLength").empty() ? "3600" : r.attribute("maxLength")) << " s"
             << (r.attribute("playBeep") == "false" ? "" : ", after a beep") << "\n";
        const auto answer = next_input("record:SECONDS, - for silence, hangup");
        if (!answer || *answer == "hangup") {
            caller_hangs_up();
            return std::nullopt;
        }
        std::string seconds = answer->starts_with("record:") ? answer->substr(7) : *answer;
        if (!is_keys(seconds) || seconds.find_first_of("*#") != std::string::npos || seconds == "0") {
            out_ << "caller says nothing\n";
            return std::nullopt; // no recording: Twilio goes on with the next verb
        }
        out_ << "caller leaves a " << seconds << " s message\n";
        if (r.attribute("action").empty()) {
            return std::nullopt;
        }
        const std::string sid = random_sid("RE");
        next_request next{method_of(r), std::string(r.attribute("action")), {}};
        next.extra.add("RecordingSid", sid);
        next.extra.add("RecordingUrl",
            "https://api.twilio.com/2010-04-01/Accounts/AC" + std::string(32, '0') + "/Recordings/" + sid);
        next.extra.add("RecordingDuration", seconds);
        next.extra.add("Digits", r.attribute("finishOnKey").empty() ? "hangup" : r.attribute("finishOnKey"));
        return next;
    }

    // The hand-off to a voice AI (<ConversationRelay> or <Stream>): shows what Twilio would
    // connect to, then plays the session's end as Twilio reports it to the action URL.
    std::optional<next_request> connect(const twiml::node& c)
    {
        const twiml::node* relay = c.child("ConversationRelay");
        const twiml::node* stream = relay == nullptr ? c.child("Stream") : nullptr;
        const twiml::node* session = relay != nullptr ? relay : stream;
        if (session == nullptr) {
            out_ << "  connect: nothing this simulator knows inside <Connect>\n";
            return std::nullopt;
        }
        out_ << "  connect: " << (relay != nullptr ? "ConversationRelay" : "Media Stream") << " to "
             << session->attribute("url") << "\n";
        for (const auto& [name, value] : session->attributes) {
            if (name != "url") {
                out_ << "    " << name << ": " << value << "\n";
            }
        }
        for (const auto& p : session->children) {
            if (p.name == "Parameter") {
                out_ << "    parameter " << p.attribute("name") << " = " << p.attribute("value") << "\n";
            }
        }
        const auto answer = next_input("end[:HANDOFF_JSON] (the assistant ends the session), failed, hangup");
        if (!answer || *answer == "hangup") {
            caller_hangs_up();
            return std::nullopt;
        }
        const bool failed = *answer == "failed";
        const std::string handoff = answer->starts_with("end:") ? answer->substr(4) : std::string();
        out_ << "assistant session " << (failed ? "failed" : "ended")
             << (handoff.empty() ? std::string() : ", handoff data " + handoff) << "\n";
        if (c.attribute("action").empty()) {
            return std::nullopt;
        }
        next_request next{method_of(c), std::string(c.attribute("action")), {}};
        if (relay != nullptr) {
            next.extra.add("SessionId", random_sid("VX"));
            next.extra.add("SessionStatus", failed ? "failed" : "completed");
            next.extra.add("SessionDuration", "42");
            if (!handoff.empty()) {
                next.extra.add("HandoffData", handoff);
            }
            if (failed) {
                next.extra.add("ErrorCode", "64101");
                next.extra.add("ErrorMessage", "the assistant's WebSocket could not be reached");
            }
        }
        return next;
    }

    void caller_hangs_up()
    {
        out_ << "caller hangs up\n";
        hung_up_ = true;
    }

    // The next scripted input, or a line from the keyboard; nullopt when there is none.
    std::optional<std::string> next_input(std::string_view hint)
    {
        if (sim_.inputs) {
            if (next_ >= sim_.inputs->size()) {
                out_ << "(no more inputs)\n";
                return std::nullopt;
            }
            return (*sim_.inputs)[next_++];
        }
        if (interactive_) {
            out_ << "caller [" << hint << "]> " << std::flush;
        }
        std::string line;
        if (!std::getline(in_, line)) {
            return std::nullopt;
        }
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
            line.pop_back();
        }
        return line;
    }

    const simulation& sim_;
    std::istream& in_;
    std::ostream& out_;
    http_client& client_;
    http_url base_;
    std::string call_sid_;
    std::string current_;
    bool interactive_ = false;
    bool hung_up_ = false;
    std::size_t next_ = 0;
};

} // namespace

int simulate(const simulation& sim, std::istream& in, std::ostream& out)
{
    auto base = parse_http_url(sim.url);
    if (!base || base->has_query || base->has_fragment) {
        out << "error: --url must be an http(s) URL without query, e.g. http://127.0.0.1:8080\n";
        return 2;
    }
    base->path.resize(text::without_trailing_slashes(base->path).size());
    net::io_context ioc;
    const connection_executor strand = net::make_strand(ioc);
    http_client client(strand, base->origin, 1, 1024 * 1024);
    int status = 1;
    call_session session(sim, in, out, client, *base);
    net::co_spawn(strand, session.run(), [&](std::exception_ptr e, int r) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                out << "error: " << ex.what() << "\n";
            }
            return;
        }
        status = r;
    });
    ioc.run();
    return status;
}

int simulate_command(const std::vector<std::string>& args)
{
    simulation sim;
    std::string data_dir
        = std::getenv("SWITCHBOARD_DATA_DIR") != nullptr ? std::getenv("SWITCHBOARD_DATA_DIR") : "./data";
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const bool has_value = i + 1 < args.size();
        if (a == "--url" && has_value) {
            sim.url = args[++i];
        } else if (a == "--public-url" && has_value) {
            sim.public_url = args[++i];
        } else if (a == "--token" && has_value) {
            sim.token = args[++i];
        } else if (a == "--token-file" && has_value) {
            // Not "-": standard input answers the prompts.
            const std::string file = args[++i];
            auto token = file == "-" ? std::nullopt : read_token(file);
            if (!token) {
                std::cerr << "switchboard simulate: cannot read a token from '" << file << "'\n";
                return 2;
            }
            sim.token = std::move(*token);
        } else if (a == "--from" && has_value) {
            sim.from = args[++i];
        } else if (a == "--to" && has_value) {
            sim.to = args[++i];
        } else if (a == "--call-sid" && has_value) {
            sim.call_sid = args[++i];
        } else if (a == "--path" && has_value) {
            sim.path = args[++i];
        } else if (a == "--input" && has_value) {
            if (!sim.inputs) {
                sim.inputs.emplace();
            }
            sim.inputs->push_back(args[++i]);
        } else {
            std::cerr << "switchboard simulate: unexpected argument '" << a << "' (see --help)\n";
            return 2;
        }
    }
    if (sim.url.empty()) {
        std::cerr << "switchboard simulate: --url is required, e.g. --url http://127.0.0.1:8080\n";
        return 2;
    }
    if (sim.token.empty() && std::getenv("TWILIO_AUTH_TOKEN") != nullptr) {
        sim.token = std::getenv("TWILIO_AUTH_TOKEN");
    }
    if (sim.token.empty()) {
        // A --dev instance writes its generated token here.
        std::ifstream dev(data_dir + "/dev-auth-token");
        std::getline(dev, sim.token);
    }
    if (sim.token.empty()) {
        std::cerr << "switchboard simulate: no auth token: --token-file, TWILIO_AUTH_TOKEN, or a --dev instance's "
                  << data_dir << "/dev-auth-token\n";
        return 2;
    }
    return simulate(sim, std::cin, std::cout);
}

} // namespace switchboard
