// X-Twilio-Signature verification (protocol/twilio_signature) on hostile URLs, bodies and
// headers. Input: flags byte, then url NUL signature NUL content-type NUL body. A signature
// computed over the URL as received (and the form body) must verify.
#include "protocol/twilio/twilio_signature.hpp"
#include "tests/fuzz/fuzz.hpp"

#include <array>

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) {
        return 0;
    }
    const bool post = (data[0] & 1) != 0;
    const auto f = fuzz::fields(fuzz::as_text(data + 1, size - 1), 4);
    static const std::array<std::string, 2> tokens = {"12345", "secondary-token-0123456789abcdef"};
    fuzz::total([&] {
        twilio_signature::webhook_request request;
        request.url = f[0];
        request.signature = f[1];
        request.content_type = f[2];
        request.body = f[3];
        request.has_body_params = post;
        const auto verdict = twilio_signature::verify(tokens, request);
        if (!verdict.ec && post && is_form_content_type(request.content_type)
            && request.url.find("bodySHA256") == std::string_view::npos) {
            fuzz::check(verdict.params.size() == parse_form(request.body).size(), "the verdict returns the body");
        }

        // The signature Twilio would send for this request (no bodySHA256: the form is signed).
        if (request.url.find("bodySHA256") == std::string_view::npos) {
            const form_params params
                = post && is_form_content_type(request.content_type) ? parse_form(request.body) : form_params{};
            const std::string good = twilio_signature::compute(tokens[1], request.url, params);
            request.signature = good;
            const auto ok = twilio_signature::verify(tokens, request);
            fuzz::check(!ok.ec, "a signature over the received URL verifies");
            fuzz::check(twilio_signature::matches(tokens, good, request.url, params), "matches agrees with verify");
        }
    });
    return 0;
}
