// Admin handlers.
#include "service/admin_routes.hpp"

#include "service/metrics.hpp"

namespace switchboard {

void add_admin_routes(router& r, metrics& stats, const std::atomic<bool>& ready)
{
    r.add({http::verb::get, "/metrics", "metrics", {}, [&stats](request_context&) -> task<http_response> {
               co_return text_response(http::status::ok, stats.scrape(), "text/plain; version=0.0.4; charset=utf-8");
           }});
    r.add({http::verb::get, "/healthz", "healthz", {}, [](request_context&) -> task<http_response> {
               co_return json_response(http::status::ok, R"({"status":"ok"})");
           }});
    r.add({http::verb::get, "/readyz", "readyz", {}, [&ready](request_context&) -> task<http_response> {
               if (ready.load()) {
                   co_return json_response(http::status::ok, R"({"status":"ready"})");
               }
               co_return json_response(http::status::service_unavailable, R"({"status":"not ready"})");
           }});
}

} // namespace switchboard
