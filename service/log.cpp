// JSON-lines logger on stdout.
#include "service/log.hpp"

#include "protocol/phone.hpp"

#include <atomic>
#include <charconv>
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
    case level::debug:
        return "debug";
    case level::info:
        return "info";
    case level::warn:
        return "warn";
    case level::error:
        return "error";
    }
    return "info";
}

// RFC 3339 UTC with milliseconds. The part up to the seconds is formatted once per second
// and thread: at thousands of lines a second, strftime-style formatting shows in profiles.
void append_time(std::string& out)
{
    thread_local std::time_t cached_second = -1;
    thread_local char prefix[64];
    const auto now = std::chrono::system_clock::now();
    const auto t = std::chrono::system_clock::to_time_t(now);
    if (t != cached_second) {
        std::tm tm{};
        gmtime_r(&t, &tm);
        std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900, tm.tm_mon + 1,
            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_second = t;
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    out.append(prefix, 20);
    out += static_cast<char>('0' + ms / 100);
    out += static_cast<char>('0' + ms / 10 % 10);
    out += static_cast<char>('0' + ms % 10);
    out += 'Z';
}

} // namespace

void set_level(level l) noexcept
{
    current_level.store(static_cast<int>(l), std::memory_order_relaxed);
}

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

bool enabled(level l) noexcept
{
    return static_cast<int>(l) >= current_level.load(std::memory_order_relaxed);
}

void append_json_escaped(std::string& out, std::string_view s)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::size_t plain = 0; // start of the run of bytes that need no escaping
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (b >= 0x20 && b != '"' && b != '\\') {
            continue;
        }
        out.append(s.data() + plain, i - plain);
        plain = i + 1;
        switch (b) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            out += "\\u00";
            out += hex[b >> 4];
            out += hex[b & 0xf];
        }
    }
    out.append(s.data() + plain, s.size() - plain);
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
        char tmp[24];
        const auto [end, ec] = std::to_chars(tmp, tmp + sizeof tmp, value);
        buf_.append(tmp, static_cast<std::size_t>(end - tmp));
    }
    return *this;
}

line& line::real(std::string_view k, double value)
{
    if (!buf_.empty()) {
        key(k);
        char tmp[32];
        const auto [end, ec] = std::to_chars(tmp, tmp + sizeof tmp, value, std::chars_format::general, 6);
        buf_.append(tmp, ec == std::errc{} ? static_cast<std::size_t>(end - tmp) : 0);
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

void on_failure::operator()(std::exception_ptr e) const
{
    if (!e) {
        return;
    }
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        line l(level::error, message_);
        if (!key_.empty()) {
            l.str(key_, value_);
        }
        l.str("error", ex.what()).emit();
    }
}

void flush() noexcept
{
    const std::lock_guard lock(out_mutex);
    std::fflush(stdout);
}

} // namespace switchboard::log
