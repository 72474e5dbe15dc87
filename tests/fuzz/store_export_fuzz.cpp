// `switchboard store import FILE` (protocol/events/store_export): any line gives a record or a
// refusal that says why, and a record written again reads back the same.
#include "protocol/events/store_export.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text = fuzz::as_text(data, size);
    fuzz::total([&] {
        std::string problem;
        const auto l = store_export::parse_line(text, &problem);
        if (!l) {
            fuzz::check(!problem.empty(), "a refusal says why");
            return;
        }
        const std::string again = store_export::to_line(*l);
        fuzz::check(again.find('\n') == std::string::npos, "a line has no newline");
        const auto back = store_export::parse_line(again);
        fuzz::check(back.has_value() && *back == *l, "a record written again reads back the same");
    });
    return 0;
}
