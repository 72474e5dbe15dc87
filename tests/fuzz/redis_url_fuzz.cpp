// SWITCHBOARD_STORE=redis://… (protocol/redis_url): any bytes give an endpoint in range or a
// refusal that says why; the redacted form does not depend on the password.
#include "protocol/core/redis_url.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view url = fuzz::as_text(data, size);
    fuzz::total([&] {
        std::string problem;
        const auto e = parse_redis_url(url, &problem);
        if (!e) {
            fuzz::check(!problem.empty(), "a refusal says why");
            return;
        }
        fuzz::check(!e->host.empty(), "an endpoint has a host");
        fuzz::check(e->port != 0, "an endpoint has a port");
        fuzz::check(e->db >= 0 && e->db <= 1'000'000, "the database index is in range");
        if (!e->password.empty()) {
            redis_endpoint other = *e;
            other.password = "another-password";
            fuzz::check(redacted(*e) == redacted(other), "the redacted URL does not depend on the password");
        }
    });
    return 0;
}
