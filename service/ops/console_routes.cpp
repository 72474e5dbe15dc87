// The console's page and script, and the admin reads it needs beyond the subscriber API.
#include "service/ops/console_routes.hpp"

#include "protocol/core/error.hpp"
#include "protocol/ivr/ivr_menu.hpp"
#include "service/http/http_error.hpp"
#include "service/ivr/menu_catalog.hpp"
#include "service/phone/phone_answers.hpp"
#include "service/store/awaitable_store.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

namespace switchboard {
namespace {

// The page runs only its own script, talks only to this listener and cannot be framed.
http_response asset(std::string_view body, std::string_view type)
{
    auto res = text_response(http::status::ok, std::string(body), type);
    res.set("Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    res.set(http::field::cache_control, "no-cache");
    return res;
}

task<http_response> recent_calls(request_context& ctx, const admin_deps& d)
{
    const form_params q = parse_form(ctx.query);
    std::size_t limit = 20;
    if (const auto v = q.find("limit"); v && !v->empty()) {
        const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), limit);
        if (ec != std::errc{} || end != v->data() + v->size() || limit < 1 || limit > 100) {
            co_return json_error(
                http::status::bad_request, "invalid_parameter", "limit must be a whole number from 1 to 100");
        }
    }
    call_filter filter;
    filter.limit = limit;
    auto r = co_await d.calls.calls(filter);
    if (!r) {
        co_return error_response(r.error(), "the event store is unavailable");
    }
    boost::json::array calls;
    for (const auto& c : r->rows) {
        calls.push_back(phone_answers::call_json(c));
    }
    co_return json_response(http::status::ok, boost::json::serialize(boost::json::object{{"calls", std::move(calls)}}));
}

task<http_response> one_call(request_context& ctx, const admin_deps& d)
{
    std::string sid(ctx.path_param("sid"));
    auto r = co_await d.calls.call(std::move(sid));
    if (!r) {
        co_return error_response(
            r.error(), r.error() == error::not_found ? "no such call" : "the event store is unavailable");
    }
    boost::json::array events;
    for (const auto& e : r->events) {
        boost::system::error_code ec;
        auto v = boost::json::parse(e, ec);
        if (!ec) {
            events.push_back(std::move(v));
        }
    }
    boost::json::object doc{{"call", phone_answers::call_json(r->call)}, {"events", std::move(events)}};
    co_return json_response(http::status::ok, boost::json::serialize(doc));
}

} // namespace

void add_console_routes(router& r, const admin_deps& d)
{
    r.add({http::verb::get, "/admin/console", "admin_console", {},
        [](request_context&) -> task<http_response> { co_return asset(console::page, "text/html; charset=utf-8"); }});
    r.add(
        {http::verb::get, "/admin/console.js", "admin_console_script", {}, [](request_context&) -> task<http_response> {
             co_return asset(console::script, "text/javascript; charset=utf-8");
         }});
    constexpr route_policy admin{.twilio_signature = false, .rate_limited = false, .permission = "", .admin = true};
    r.add({http::verb::get, "/admin/calls", "admin_calls", admin,
        [d](request_context& ctx) { return recent_calls(ctx, d); }});
    r.add({http::verb::get, "/admin/calls/{sid}", "admin_call", admin,
        [d](request_context& ctx) { return one_call(ctx, d); }});
    // The live definition as `switchboard menu graph` prints it (Graphviz DOT).
    r.add({http::verb::get, "/admin/menus/graph", "admin_menu_graph", admin,
        [&menus = d.menus](request_context&) -> task<http_response> {
            co_return text_response(
                http::status::ok, ivr::to_dot(*menus.current()), "text/vnd.graphviz; charset=utf-8");
        }});
}

} // namespace switchboard
