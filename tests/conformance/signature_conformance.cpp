// Our X-Twilio-Signature verdicts against the official helper library's, on cases generated at
// test time by gen_signature_cases.mjs (argv[1]: the cases file).
#include "protocol/twilio/twilio_signature.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::cerr << "usage: signature_conformance CASES.json\n";
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) {
        std::cerr << "cannot read " << argv[1] << "\n";
        return 2;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    const auto doc = boost::json::parse(ss.str());
    const auto& cases = doc.at("cases").as_array();
    std::size_t passed = 0;
    std::size_t failed = 0;
    std::size_t valid = 0;
    std::size_t stripped_accepted = 0;
    std::size_t signed_refused = 0;
    for (const auto& v : cases) {
        const auto& c = v.as_object();
        const std::vector<std::string> tokens{std::string(c.at("token").as_string())};
        const std::string url(c.at("url").as_string());
        const std::string signature(c.at("signature").as_string());
        const std::string body(c.at("body").as_string());
        const std::string kind(c.at("kind").as_string());
        const bool expected = c.at("expected").as_bool();
        const switchboard::twilio_signature::webhook_request request{url, signature,
            kind == "json" ? "application/json" : "application/x-www-form-urlencoded; charset=UTF-8", body,
            kind != "get"};
        const bool ours = !switchboard::twilio_signature::verify(tokens, request).ec;
        valid += expected ? 1 : 0;
        const auto* fragment = c.if_contains("fragment");
        if (fragment != nullptr && fragment->as_string() == "stripped" && expected && ours) {
            ++stripped_accepted; // configured with #overrides, signed and received without
        }
        if (fragment != nullptr && fragment->as_string() == "signed" && !expected && !ours) {
            ++signed_refused; // signed with the fragment Twilio never signs
        }
        if (ours == expected) {
            ++passed;
        } else {
            ++failed;
            std::cerr << "MISMATCH (twilio-node " << (expected ? "accepts" : "refuses") << ", we "
                      << (ours ? "accept" : "refuse") << "): " << boost::json::serialize(v) << "\n";
        }
    }
    std::cout << "signature conformance with twilio-node (seed " << doc.at("seed") << "): " << cases.size()
              << " cases, " << valid << " valid\n";
    std::cout << passed << " passed, " << failed << " failed\n";
    std::cout << "connection-override URLs: " << stripped_accepted << " signed without the fragment accepted, "
              << signed_refused << " signed with it refused\n";
    // Both kinds must have been tried: a generator that stopped making them would pass unseen.
    if (stripped_accepted == 0 || signed_refused == 0) {
        std::cerr << "no connection-override cases of both kinds in this run\n";
        return 1;
    }
    return failed == 0 && passed > 0 ? 0 : 1;
}
