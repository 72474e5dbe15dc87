// `switchboard simulate`: plays Twilio against a running instance. It sends the signed webhooks
// of one inbound call, prints what the caller would hear, and answers each Gather, Dial and
// Record from a list of inputs or the keyboard, following Redirect until the call ends.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace switchboard {

struct simulation {
    std::string url; // the instance, e.g. http://127.0.0.1:8080
    std::string public_url; // what signatures are computed over; empty: url
    std::string token; // the auth token requests are signed with
    std::string from = "+14155550123";
    std::string to = "+18005550100";
    std::string call_sid; // empty: a random CA…
    std::string path = "/api/voice/incoming"; // the voice URL of the number
    // The caller's inputs, in order; nullopt: read them from `in`, one per line.
    //   1, 12#        keys pressed ("-" or an empty line: say nothing and wait)
    //   say:words     speech (SpeechResult)
    //   answered, no-answer, busy, failed   the outcome of a Dial
    //   record:N      leave an N-second voicemail
    //   hangup        the caller hangs up
    std::optional<std::vector<std::string>> inputs;
    int max_steps = 50;
};

// Runs one call; the transcript goes to `out`. Exit status: 0 when the call ended (hung up by
// either side or the document ended), 1 on an HTTP or TwiML error.
int simulate(const simulation& sim, std::istream& in, std::ostream& out);

// The argument parser for `switchboard simulate ...`: exit status.
int simulate_command(const std::vector<std::string>& args);

} // namespace switchboard
