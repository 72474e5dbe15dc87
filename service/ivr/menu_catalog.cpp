// Loading, checking and hot-swapping the IVR menu definition.
#include "service/ivr/menu_catalog.hpp"

#include "service/ivr/time_zone.hpp"
#include "service/ops/log.hpp"
#include "service/ops/metrics.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace switchboard {
namespace {

ivr::parse_options checks(std::string_view assistant_url)
{
    ivr::parse_options o;
    o.zone_exists = [](std::string_view zone) { return time_zone_exists(zone); };
    o.assistant_url = assistant_url;
    return o;
}

constexpr std::size_t max_file_bytes = 4 * 1024 * 1024;

} // namespace

ivr::parse_result load_menu_file(const std::string& path, std::string_view assistant_url)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return {nullptr, {{"$", "cannot read '" + path + "'"}}};
    }
    std::ostringstream s;
    s << in.rdbuf();
    if (s.str().size() > max_file_bytes) {
        return {nullptr, {{"$", "larger than 4 MiB"}}};
    }
    return ivr::parse(s.str(), checks(assistant_url));
}

std::string describe(const std::vector<ivr::problem>& problems)
{
    std::string out;
    for (const auto& p : problems) {
        out.append(out.empty() ? "" : "\n").append(p.path).append(": ").append(p.message);
    }
    return out;
}

menu_catalog::menu_catalog(std::string path, std::string assistant_url, metrics& stats)
    : path_(std::move(path)), assistant_url_(std::move(assistant_url)), stats_(stats)
{
    ivr::parse_result r;
    if (path_.empty()) {
        r = ivr::parse(ivr::default_definition_json(), checks(assistant_url_));
    } else {
        loaded_stamp_ = stamp_of(path_);
        r = load_menu_file(path_, assistant_url_);
    }
    if (!r.def) {
        throw std::runtime_error("the menu definition " + (path_.empty() ? std::string("(built in)") : path_)
            + " has problems:\n" + describe(r.problems));
    }
    install(std::move(r.def));
    stats_.menu_reload_ok.Set(1);
}

std::shared_ptr<const ivr::definition> menu_catalog::current() const
{
    const std::lock_guard lock(mutex_);
    return current_;
}

void menu_catalog::install(std::shared_ptr<const ivr::definition> def)
{
    // Every choice's series exists from the start, so rate() and absent() behave.
    for (const auto& [id, m] : def->menus) {
        for (const auto& o : m.options) {
            stats_.ivr_selection(id, o.label);
        }
        stats_.ivr_selection(id, "invalid");
        stats_.ivr_selection(id, "none");
    }
    std::size_t menus = def->menus.size();
    std::size_t lines = def->lines.size();
    {
        const std::lock_guard lock(mutex_);
        current_ = std::move(def);
    }
    log::line(log::level::info, "menu definition live")
        .str("file", path_.empty() ? "(built in)" : path_)
        .num("lines", static_cast<std::int64_t>(lines))
        .num("menus", static_cast<std::int64_t>(menus))
        .emit();
}

bool menu_catalog::reload()
{
    if (path_.empty()) {
        log::line(log::level::info, "menu reload: no SWITCHBOARD_MENU_FILE, the built-in menu stays").emit();
        return true;
    }
    const auto before = stamp_of(path_);
    auto r = load_menu_file(path_, assistant_url_);
    {
        const std::lock_guard lock(mutex_);
        loaded_stamp_ = before; // a refused file is not retried until it changes again
    }
    if (!r.def) {
        stats_.menu_reloads["refused"].Increment();
        stats_.menu_reload_ok.Set(0);
        auto line = log::line(log::level::error, "menu reload refused; the previous definition stays live");
        line.str("file", path_).num("problems", static_cast<std::int64_t>(r.problems.size()));
        line.str(
            "first_problem", r.problems.empty() ? "" : r.problems.front().path + ": " + r.problems.front().message);
        line.emit();
        return false;
    }
    install(std::move(r.def));
    stats_.menu_reloads["ok"].Increment();
    stats_.menu_reload_ok.Set(1);
    return true;
}

bool menu_catalog::file_changed() const
{
    if (path_.empty()) {
        return false;
    }
    const auto now = stamp_of(path_);
    const std::lock_guard lock(mutex_);
    return now != loaded_stamp_;
}

std::optional<menu_catalog::stamp> menu_catalog::stamp_of(const std::string& path)
{
    std::error_code ec;
    const auto mtime = std::filesystem::last_write_time(path, ec);
    if (ec) {
        return std::nullopt;
    }
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) {
        return std::nullopt;
    }
    return stamp{mtime, size};
}

} // namespace switchboard
