// Writes outbound webhook deliveries signed by protocol/webhook_signature, for the npm
// `standardwebhooks` library to verify (verify_webhook_cases.mjs). argv[1]: output file;
// argv[2]: how many cases. Timestamps are now, as a receiver checks them against its clock.
#include "protocol/core/crypto.hpp"
#include "protocol/events/webhook_signature.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>

int main(int argc, char** argv)
{
    using namespace switchboard;
    if (argc < 2) {
        std::cerr << "usage: webhook_cases OUT.json [COUNT]\n";
        return 2;
    }
    const int count = argc > 2 ? std::stoi(argv[2]) : 300;
    const auto now
        = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    // Bodies: JSON events with unicode, escapes and sizes from empty to a few KiB.
    const char* samples[] = {R"({"type":"call.status_changed","data":{"status":"completed"}})",
        R"({"body":"h\u00e9llo \u2713 caf\u00e9","emoji":"😀"})", R"({"quote":"\"","slash":"\\","nl":"\n"})",
        R"({"n":1.5e10,"t":true,"z":null})", "{}"};
    boost::json::array cases;
    for (int i = 0; i < count; ++i) {
        // Keys of 24 (the least parse_secret accepts) to 64 bytes.
        const std::string raw = crypto::random_bytes(static_cast<std::size_t>(24 + i % 41));
        const std::string secret = webhook_signature::generate_secret(raw);
        const std::string key = *webhook_signature::parse_secret(secret);
        const std::string id = "evt_" + crypto::hex_lower(reinterpret_cast<const unsigned char*>(raw.data()), 8);
        std::string body = samples[i % 5];
        if (i % 7 == 0) {
            body = R"({"pad":")" + std::string(static_cast<std::size_t>(i * 13 % 4000), 'x') + "\"}";
        }
        const std::int64_t ts = now - i % 60;
        boost::json::object c;
        c["secret"] = secret;
        c["id"] = id;
        c["timestamp"] = ts;
        c["body"] = body;
        c["signature"] = webhook_signature::sign(key, id, ts, body);
        cases.push_back(std::move(c));
    }
    std::ofstream(argv[1]) << boost::json::serialize(cases);
    std::cout << "webhook cases: " << count << " written to " << argv[1] << "\n";
    return 0;
}
