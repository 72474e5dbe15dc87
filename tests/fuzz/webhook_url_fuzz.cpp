// Webhook URL forms (protocol/webhook_url): splitting, ports, WHATWG normalisation and Node's
// legacy query string on any bytes. A normalised URL normalises to itself.
#include "protocol/events/webhook_url.hpp"
#include "tests/fuzz/fuzz.hpp"

#include <algorithm>

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view url = fuzz::as_text(data, size);
    fuzz::total([&] {
        if (const auto p = webhook_url::split(url)) {
            fuzz::check(
                p->scheme.size() + p->userinfo.size() + p->host.size() + p->port.size() + p->rest.size() == url.size(),
                "split covers the URL");
        }
        const std::string without = webhook_url::remove_port(url);
        fuzz::check(webhook_url::remove_port(without) == without, "remove_port is idempotent");
        const std::string with = webhook_url::add_default_port(url);
        fuzz::check(webhook_url::add_default_port(with) == with, "add_default_port is idempotent");
        if (const auto n = webhook_url::normalize(url)) {
            const auto again = webhook_url::normalize(*n);
            fuzz::check(again.has_value(), "a normalised URL is accepted");
            fuzz::check(*again == *n, "normalize is idempotent");
        }
        (void)webhook_url::with_legacy_querystring(url);
        const auto all = webhook_url::candidates(url);
        fuzz::check(!all.empty(), "there is always a candidate");
        fuzz::check(all.size() <= 6, "at most six candidate forms");
        for (std::size_t i = 0; i < all.size(); ++i) {
            fuzz::check(std::find(all.begin() + static_cast<std::ptrdiff_t>(i) + 1, all.end(), all[i]) == all.end(),
                "candidates are distinct");
        }
    });
    return 0;
}
