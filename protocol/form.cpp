// Form decoding and encoding.
#include "protocol/form.hpp"

#include "protocol/text.hpp"

namespace switchboard {

const std::string* form_params::find(std::string_view name) const noexcept
{
    for (const auto& p : items_) {
        if (p.name == name) {
            return &p.value;
        }
    }
    return nullptr;
}

std::string_view form_params::get(std::string_view name, std::string_view fallback) const noexcept
{
    const std::string* v = find(name);
    return v != nullptr ? std::string_view(*v) : fallback;
}

void form_params::add(std::string name, std::string value)
{
    items_.push_back({std::move(name), std::move(value)});
}

form_params parse_form(std::string_view body)
{
    std::vector<form_param> items;
    while (!body.empty()) {
        const std::size_t amp = body.find('&');
        const std::string_view piece = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        if (piece.empty()) {
            continue;
        }
        const std::size_t eq = piece.find('=');
        const std::string_view name = piece.substr(0, eq);
        const std::string_view value = eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1);
        items.push_back({text::repair_utf8(text::percent_decode(name, true)),
            text::repair_utf8(text::percent_decode(value, true))});
    }
    return form_params(std::move(items));
}

std::string form_encode(const form_params& params)
{
    std::string out;
    for (const auto& p : params.items()) {
        if (!out.empty()) {
            out.push_back('&');
        }
        out += text::percent_encode(p.name, text::is_querystring_safe);
        out.push_back('=');
        out += text::percent_encode(p.value, text::is_querystring_safe);
    }
    return out;
}

namespace {

bool media_type_is(std::string_view content_type, std::string_view type) noexcept
{
    const std::size_t semi = content_type.find(';');
    std::string_view media = content_type.substr(0, semi);
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) {
        media.remove_suffix(1);
    }
    while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) {
        media.remove_prefix(1);
    }
    return text::iequals(media, type);
}

} // namespace

bool is_form_content_type(std::string_view content_type) noexcept
{
    return media_type_is(content_type, "application/x-www-form-urlencoded");
}

bool is_json_content_type(std::string_view content_type) noexcept
{
    return media_type_is(content_type, "application/json");
}

} // namespace switchboard
