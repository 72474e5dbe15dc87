// application/x-www-form-urlencoded bodies and query strings, decoded the way Twilio's helper
// libraries see them (Node's querystring.parse): order kept, repeated names kept.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

struct form_param {
    std::string name;
    std::string value;
};

class form_params {
public:
    form_params() = default;
    explicit form_params(std::vector<form_param>&& items) : items_(std::move(items)) { }

    // The first value of `name`, or nullptr.
    const std::string* find(std::string_view name) const noexcept;
    std::string_view get(std::string_view name, std::string_view fallback = {}) const noexcept;

    void add(std::string name, std::string value);
    const std::vector<form_param>& items() const noexcept { return items_; }
    bool empty() const noexcept { return items_.empty(); }
    std::size_t size() const noexcept { return items_.size(); }

private:
    std::vector<form_param> items_;
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
