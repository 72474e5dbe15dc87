// The shared token bucket: one script call per request on a rate-limited route.
#include "service/shared_rate_limiter.hpp"

#include "protocol/error.hpp"
#include "service/redis_scripts.hpp"

#include <cmath>
#include <cstdlib>

namespace switchboard {

shared_rate_limiter::shared_rate_limiter(redis_client& client, std::string prefix, unsigned per_minute)
    : client_(client)
    , prefix_(std::move(prefix))
    , capacity_(std::to_string(per_minute))
    , per_second_(std::to_string(static_cast<double>(per_minute) / 60.0))
    , script_(client.add_script(redis_scripts::rate_limit))
{
}

void shared_rate_limiter::take(const std::string& who, event_store::callback<rate_limiter::decision> done)
{
    client_.eval(script_, {prefix_ + "rate:" + who, capacity_, per_second_},
        [done = std::move(done)](boost::system::result<redis_reply> r) {
            if (!r || r->is_error() || r->elements.size() != 2) {
                done({boost::system::in_place_error, make_error_code(error::store_unavailable)});
                return;
            }
            const bool allowed = r->elements[0].number() == 1;
            // The epsilon keeps float noise from adding a second (as rate_limiter does).
            const double wait = std::strtod(r->elements[1].text().c_str(), nullptr);
            done(rate_limiter::decision{
                allowed, std::chrono::seconds{allowed ? 0 : static_cast<long>(std::ceil(wait - 1e-6))}});
        });
}

} // namespace switchboard
