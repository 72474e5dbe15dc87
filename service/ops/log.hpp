// Structured logs: one JSON object per line on stdout. Phone numbers are masked by the callers'
// use of `phone` fields; secrets are never passed in.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace switchboard::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

void set_level(level l) noexcept;
level parse_level(std::string_view s) noexcept;
bool enabled(level l) noexcept;

// Builds one line; written when `emit` is called (or dropped if the level is off).
class line {
public:
    line(level l, std::string_view message);
    line(const line&) = delete;
    line& operator=(const line&) = delete;

    line& str(std::string_view key, std::string_view value);
    line& num(std::string_view key, std::int64_t value);
    line& real(std::string_view key, double value);
    line& boolean(std::string_view key, bool value);
    // A phone number or caller id, masked (country code and last two digits kept).
    line& phone(std::string_view key, std::string_view number);
    // Free text that may quote phone numbers (Twilio's error messages): every run of 7 or more
    // digits masked (phone::mask_numbers_in).
    line& masked(std::string_view key, std::string_view text);
    void emit();

private:
    void key(std::string_view k);

    level level_;
    std::string buf_;
};

// A co_spawn completion handler: logs, at error level, an exception that escaped the coroutine
// (`message`, plus one optional key/value naming what failed). The server stays up.
class on_failure {
public:
    explicit on_failure(std::string_view message, std::string_view key = {}, std::string_view value = {})
        : message_(message), key_(key), value_(value)
    {
    }
    void operator()(std::exception_ptr e) const;

private:
    std::string message_;
    std::string key_;
    std::string value_;
};

// Lines are queued (at most 4 MiB) and written to stdout by a background thread, so a slow log
// consumer never stalls a request; a line that does not fit is dropped and counted, and the
// stream itself says how many were lost. flush() waits (at most 2 s, so a process can exit
// even when nobody reads its stdout) until what was queued before the call is written; exit()
// calls it too.
void flush() noexcept;
// Lines dropped because the queue was full, since start (switchboard_log_lines_dropped_total).
std::uint64_t dropped_lines() noexcept;

// Appends `s` to `out` as a JSON string literal body (no quotes). Ill-formed UTF-8 comes out as
// U+FFFD (one per maximal subpart), so every line is valid JSON whatever the bytes.
void append_json_escaped(std::string& out, std::string_view s);

} // namespace switchboard::log
