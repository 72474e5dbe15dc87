// The shared token bucket: one script call per request on a rate-limited route.
#include "service/store/redis/shared_rate_limiter.hpp"

#include "protocol/core/error.hpp"
#include "service/store/redis/redis_scripts.hpp"
#include "service/store/store_await.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace switchboard {
namespace {

// Every digit a double has (std::to_string keeps six decimals: 1 per day would be 0.000012).
std::string exact(double v)
{
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string(buf, static_cast<std::size_t>(n));
}

} // namespace

shared_rate_limiter::shared_rate_limiter(redis_client& client, std::string prefix, unsigned per_minute)
    : shared_rate_limiter(client, std::move(prefix), static_cast<double>(per_minute), std::chrono::seconds(60))
{
}

shared_rate_limiter::shared_rate_limiter(
    redis_client& client, std::string prefix, double capacity, std::chrono::seconds window)
    : client_(client)
    , prefix_(std::move(prefix))
    , capacity_(exact(capacity))
    , per_second_(exact(capacity / static_cast<double>(std::max<std::int64_t>(1, window.count()))))
    , script_(client.add_script(redis_scripts::rate_limit))
{
}

task<boost::system::result<rate_limiter::decision>> shared_rate_limiter::take(std::string who)
{
    auto g = co_await take_up_to(std::move(who), 1);
    if (!g) {
        co_return g.error();
    }
    co_return rate_limiter::decided(*g); // rounded as rate_limiter::take rounds it
}

task<boost::system::result<rate_limiter::grant>> shared_rate_limiter::take_up_to(std::string who, std::size_t wanted)
{
    return store_call<rate_limiter::grant>(
        [this, who = std::move(who), wanted](auto done) { ask(who, wanted, std::move(done)); });
}

void shared_rate_limiter::ask(
    const std::string& who, std::size_t wanted, std::function<void(boost::system::result<rate_limiter::grant>)> done)
{
    client_.eval(script_, {prefix_ + "rate:" + who, capacity_, per_second_, std::to_string(wanted)},
        [done = std::move(done)](boost::system::result<redis_reply> r) {
            if (!r || r->is_error() || r->elements.size() != 2 || r->elements[0].number() < 0) {
                done({boost::system::in_place_error, make_error_code(error::store_unavailable)});
                return;
            }
            const auto granted = static_cast<std::size_t>(r->elements[0].number());
            const double wait_s = std::strtod(r->elements[1].text().c_str(), nullptr);
            done(rate_limiter::grant{granted,
                std::chrono::milliseconds{granted > 0 ? 0 : static_cast<long>(std::ceil(wait_s * 1000 - 1e-6))}});
        });
}

} // namespace switchboard
