// JSON-lines logger on stdout.
#include "service/log.hpp"

#include "protocol/phone.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace switchboard::log {
namespace {

std::atomic<int> current_level{static_cast<int>(level::info)};
std::mutex out_mutex;

std::string_view level_name(level l) noexcept
{
    switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
    }
    return "info";
}

void append_time(std::string& out)
{
    const auto now = std::chrono::system_clock::now();
    const auto t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    out.append(buf, static_cast<std::size_t>(n));
}

} // namespace

void set_level(level l) noexcept { current_level.store(static_cast<int>(l), std::memory_order_relaxed); }

level parse_level(std::string_view s) noexcept
{
    if (s == "debug") {
        return level::debug;
    }
    if (s == "warn") {
        return level::warn;
    }
    if (s == "error") {
        return level::error;
    }
    return level::info;
}

bool enabled(level l) noexcept { return static_cast<int>(l) >= current_level.load(std::memory_order_relaxed); }

void append_json_escaped(std::string& out, std::string_view s)
{
    static constexpr char hex[] = "0123456789abcdef";
    for (const char c : s) {
        const auto b = static_cast<unsigned char>(c);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (b < 0x20) {
                out += "\\u00";
                out += hex[b >> 4];
                out += hex[b & 0xf];
            } else {
                out += c;
            }
        }
    }
}

line::line(level l, std::string_view message) : level_(l)
{
    if (!enabled(l)) {
        return;
    }
    buf_.reserve(256);
    buf_ += "{\"time\":\"";
    append_time(buf_);
    buf_ += "\",\"level\":\"";
    buf_ += level_name(l);
    buf_ += "\",\"msg\":\"";
    append_json_escaped(buf_, message);
    buf_ += '"';
}

void line::key(std::string_view k)
{
    buf_ += ",\"";
    buf_ += k;
    buf_ += "\":";
}

line& line::str(std::string_view k, std::string_view value)
{
    if (!buf_.empty()) {
        key(k);
        buf_ += '"';
        append_json_escaped(buf_, value);
        buf_ += '"';
    }
    return *this;
}

line& line::num(std::string_view k, std::int64_t value)
{
    if (!buf_.empty()) {
        key(k);
        buf_ += std::to_string(value);
    }
    return *this;
}

line& line::real(std::string_view k, double value)
{
    if (!buf_.empty()) {
        key(k);
        char tmp[32];
        const int n = std::snprintf(tmp, sizeof tmp, "%.6g", value);
        buf_.append(tmp, static_cast<std::size_t>(n));
    }
    return *this;
}

line& line::boolean(std::string_view k, bool value)
{
    if (!buf_.empty()) {
        key(k);
        buf_ += value ? "true" : "false";
    }
    return *this;
}

line& line::phone(std::string_view k, std::string_view number)
{
    if (!buf_.empty() && !number.empty()) {
        str(k, phone::mask(number));
    }
    return *this;
}

void line::emit()
{
    if (buf_.empty()) {
        return;
    }
    buf_ += "}\n";
    const std::lock_guard lock(out_mutex);
    std::fwrite(buf_.data(), 1, buf_.size(), stdout);
    if (level_ >= level::warn) {
        std::fflush(stdout);
    }
    buf_.clear();
}

void flush() noexcept
{
    const std::lock_guard lock(out_mutex);
    std::fflush(stdout);
}

} // namespace switchboard::log
