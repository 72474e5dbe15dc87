// JSON-lines logger on stdout, written by one background thread from a bounded queue.
#include "service/ops/log.hpp"

#include "protocol/core/phone.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <thread>

namespace switchboard::log {
namespace {

class sink;
sink& out();

std::atomic<int> current_level{static_cast<int>(level::info)};

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

// One step through UTF-8 text: the well-formed sequence `s` starts with (Unicode 15, table 3-7:
// no overlong forms, no surrogates, nothing above U+10FFFF), or else the maximal subpart of one
// (at least one byte), which a single U+FFFD replaces (Unicode 15, section 3.9, "U+FFFD
// Substitution of Maximal Subparts"; what the WHATWG decoder does).
struct utf8_step {
    std::size_t size;
    bool valid;
};

utf8_step next_utf8(std::string_view s) noexcept
{
    const auto b = static_cast<unsigned char>(s[0]);
    std::size_t n = 0;
    unsigned char lo = 0x80; // the range of the second byte; later ones are 80..BF
    unsigned char hi = 0xBF;
    if (b < 0x80) {
        return {1, true};
    }
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        lo = b == 0xE0 ? 0xA0 : 0x80;
        hi = b == 0xED ? 0x9F : 0xBF;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        lo = b == 0xF0 ? 0x90 : 0x80;
        hi = b == 0xF4 ? 0x8F : 0xBF;
    } else {
        return {1, false};
    }
    for (std::size_t k = 1; k < n; ++k) {
        const auto c = k < s.size() ? static_cast<unsigned char>(s[k]) : 0;
        if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) {
            return {k, false};
        }
    }
    return {n, true};
}

// Lines wait here for the writer thread, so no request thread ever waits for stdout: a slow or
// stalled log consumer (a full pipe, a paused container runtime) costs dropped lines, counted,
// instead of stalling every I/O thread and then /healthz. The bound keeps memory flat.
class sink {
public:
    static constexpr std::size_t max_pending = 4U << 20U; // bytes of lines not yet written
    // The writer sleeps while nothing is queued; once a line comes it writes when this much is
    // queued, at once for a warning or an error, else after `linger`: one write(2) per batch,
    // not one wake-up and system call per info line (that cost a busy I/O thread a quarter of
    // its rate).
    static constexpr std::size_t wake_bytes = 64U << 10U;
    static constexpr std::chrono::milliseconds linger{50};
    // How long flush() (before exit) waits for a stalled consumer before giving up the rest.
    static constexpr std::chrono::seconds flush_patience{2};

    sink() : writer_([this] { run(); })
    {
        writer_.detach(); // the sink lives until the process ends; exit() flushes what is queued
        std::atexit([] { out().flush(); });
    }
    sink(const sink&) = delete;
    sink& operator=(const sink&) = delete;
    ~sink() = delete;

    // `urgent` (warn and error): written as soon as the writer is free, as before the queue.
    void push(std::string_view text, bool urgent)
    {
        bool wake = false;
        {
            const std::lock_guard lock(mutex_);
            if (pending_.size() + text.size() > max_pending) {
                dropped_.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            const bool below = pending_.size() < wake_bytes;
            wake = pending_.empty() || (urgent && !urgent_) || (below && pending_.size() + text.size() >= wake_bytes);
            urgent_ = urgent_ || urgent;
            pending_.append(text);
            ++queued_;
        }
        if (wake) {
            wake_.notify_one();
        }
    }

    // Wakes the writer and waits until it has written every line queued before the call, or flush_patience
    // has passed: a process must be able to exit even when nobody reads its stdout.
    void flush() noexcept
    {
        std::unique_lock lock(mutex_);
        const std::uint64_t target = queued_;
        flush_wanted_ = true;
        wake_.notify_one();
        (void)written_cv_.wait_for(lock, flush_patience, [&] { return written_ >= target; });
    }

    std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

private:
    // The only thread that writes to stdout, so lines leave in the order they were queued.
    void run()
    {
        for (;;) {
            std::uint64_t upto = 0;
            {
                std::unique_lock lock(mutex_);
                // Idle: sleep until a line comes. Then gather for up to `linger`.
                wake_.wait(lock, [&] { return !pending_.empty() || flush_wanted_; });
                (void)wake_.wait_for(
                    lock, linger, [&] { return pending_.size() >= wake_bytes || urgent_ || flush_wanted_; });
                flush_wanted_ = false;
                urgent_ = false;
                batch_.swap(pending_);
                upto = queued_;
            }
            write_batch();
            {
                const std::lock_guard lock(mutex_);
                written_ = upto;
            }
            written_cv_.notify_all();
        }
    }

    // A drop since the last batch is reported in the stream itself.
    void write_batch() noexcept
    {
        const std::uint64_t dropped = dropped_.load(std::memory_order_relaxed);
        if (dropped != reported_) {
            std::string note = "{\"time\":\"";
            append_time(note);
            note += "\",\"level\":\"warn\",\"msg\":\"log lines dropped: the log consumer is too slow\",\"dropped\":";
            note += std::to_string(dropped - reported_);
            note += "}\n";
            reported_ = dropped;
            write_all(note.data(), note.size());
        }
        write_all(batch_.data(), batch_.size());
        batch_.clear();
        if (batch_.capacity() > (64U << 10U)) {
            batch_.shrink_to_fit(); // a burst does not keep its buffer for ever
        }
    }

    static void write_all(const char* data, std::size_t size) noexcept
    {
        while (size > 0) {
            const ssize_t n = ::write(STDOUT_FILENO, data, size);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                return; // stdout closed or broken: nothing more to do with these lines
            }
            data += n;
            size -= static_cast<std::size_t>(n);
        }
    }

    std::mutex mutex_; // guards pending_, queued_, written_, flush_wanted_ and urgent_
    std::condition_variable wake_; // the writer: lines are pending
    std::condition_variable written_cv_; // flush(): a batch was written
    std::string pending_;
    std::uint64_t queued_ = 0; // lines queued since start
    std::uint64_t written_ = 0; // of those, lines written (or given up on: stdout closed)
    bool flush_wanted_ = false;
    bool urgent_ = false; // a warning or an error is pending
    std::string batch_; // the writer's own
    std::uint64_t reported_ = 0; // the writer's own: drops already reported in the stream
    std::atomic<std::uint64_t> dropped_{0};
    std::thread writer_; // last: starts after the members it uses exist
};

// Never destroyed: a line logged by another thread while the process exits still has a sink.
sink& out()
{
    static sink* const s = new sink;
    return *s;
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
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (b >= 0x80) {
            // JSON text is UTF-8 (RFC 8259 section 8.1): ill-formed bytes (a raw request target,
            // a header) would make the whole line unparsable.
            const utf8_step step = next_utf8(s.substr(i));
            if (!step.valid) {
                out.append(s.data() + plain, i - plain);
                out += "\xEF\xBF\xBD"; // U+FFFD REPLACEMENT CHARACTER
                plain = i + step.size;
            }
            i += step.size;
            continue;
        }
        if (b >= 0x20 && b != '"' && b != '\\') {
            ++i;
            continue;
        }
        out.append(s.data() + plain, i - plain);
        plain = ++i;
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

line& line::masked(std::string_view k, std::string_view text)
{
    if (!buf_.empty()) {
        str(k, phone::mask_numbers_in(text));
    }
    return *this;
}

void line::emit()
{
    if (buf_.empty()) {
        return;
    }
    buf_ += "}\n";
    out().push(buf_, level_ >= level::warn);
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
    out().flush();
}

std::uint64_t dropped_lines() noexcept
{
    return out().dropped();
}

} // namespace switchboard::log
