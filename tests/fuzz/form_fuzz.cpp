// Form bodies and query strings (protocol/form, protocol/text): any bytes are some form; the
// decoded pairs are valid UTF-8 and survive encoding and parsing again unchanged.
#include "protocol/core/form.hpp"
#include "protocol/core/text.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view in = fuzz::as_text(data, size);
    fuzz::total([&] {
        const form_params params = parse_form(in);
        for (std::size_t i = 0; i < params.size(); ++i) {
            fuzz::check(text::is_valid_utf8(params[i].name) && text::is_valid_utf8(params[i].value),
                "decoded pairs are valid UTF-8");
        }
        const form_params again = parse_form(form_encode(params));
        fuzz::check(again.size() == params.size(), "form_encode then parse_form keeps the number of pairs");
        for (std::size_t i = 0; i < params.size(); ++i) {
            fuzz::check(again[i].name == params[i].name && again[i].value == params[i].value,
                "form_encode then parse_form keeps every pair");
        }
        if (params.size() >= 2) {
            const auto a = params[0].name;
            const auto b = params[1].name;
            fuzz::check(!text::utf16_less(a, a), "utf16_less is irreflexive");
            fuzz::check(!(text::utf16_less(a, b) && text::utf16_less(b, a)), "utf16_less is asymmetric");
        }
        const std::string decoded = text::percent_decode(in, false);
        fuzz::check(decoded.size() <= in.size(), "percent-decoding never lengthens");
        fuzz::check(text::is_valid_utf8(text::repair_utf8(std::string(in))), "repair_utf8 gives valid UTF-8");
        const std::string encoded = text::percent_encode(in, text::is_querystring_safe);
        fuzz::check(text::percent_decode(encoded, true) == in, "percent_encode then percent_decode is the identity");
        (void)is_form_content_type(in);
        (void)is_json_content_type(in);
    });
    return 0;
}
