// application/x-www-form-urlencoded bodies and query strings, decoded the way Twilio's helper
// libraries see them (Node's querystring.parse): order kept, repeated names kept.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

// Decoded parameters. All names and values live in one buffer (a webhook has dozens of short
// parameters: one allocation instead of one or two each).
class form_params {
public:
    struct entry {
        std::string_view name;
        std::string_view value;
    };

    form_params() = default;

    // The first value of `name`, if present.
    std::optional<std::string_view> find(std::string_view name) const noexcept;
    std::string_view get(std::string_view name, std::string_view fallback = {}) const noexcept;

    void add(std::string_view name, std::string_view value);
    std::size_t size() const noexcept { return spans_.size(); }
    bool empty() const noexcept { return spans_.empty(); }
    entry operator[](std::size_t i) const noexcept;
    entry back() const noexcept { return (*this)[spans_.size() - 1]; }

    // Used by the parser: decoded bytes are appended to the buffer, then recorded.
    std::string& buffer() noexcept { return storage_; }
    void reserve(std::size_t fields) { spans_.reserve(fields); }
    void record(std::size_t name_begin, std::size_t value_begin, std::size_t end);

private:
    struct span {
        std::uint32_t name_begin;
        std::uint32_t value_begin;
        std::uint32_t end;
    };
    std::string storage_;
    std::vector<span> spans_;
};

// Splits on '&', skips empty pieces, splits each at the first '=', decodes '+' and %XX
// (malformed escapes stay literal), and repairs invalid UTF-8 to U+FFFD. Never fails: any
// byte string is some form, exactly as for the helper libraries that sign what we verify.
form_params parse_form(std::string_view body);

// Encodes with querystring.escape's safe set; space becomes %20.
std::string form_encode(const form_params& params);

// True when a Content-Type header names a form body (any parameters, any case).
bool is_form_content_type(std::string_view content_type) noexcept;
bool is_json_content_type(std::string_view content_type) noexcept;

} // namespace switchboard
