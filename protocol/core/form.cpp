// Form decoding and encoding.
#include "protocol/core/form.hpp"

#include "protocol/core/text.hpp"

#include <algorithm>

namespace switchboard {

std::optional<std::string_view> form_params::find(std::string_view name) const noexcept
{
    for (std::size_t i = 0; i < spans_.size(); ++i) {
        const entry e = (*this)[i];
        if (e.name == name) {
            return e.value;
        }
    }
    return std::nullopt;
}

std::string_view form_params::get(std::string_view name, std::string_view fallback) const noexcept
{
    return find(name).value_or(fallback);
}

form_params::entry form_params::operator[](std::size_t i) const noexcept
{
    const span& s = spans_[i];
    const std::string_view all(storage_);
    return {all.substr(s.name_begin, s.value_begin - s.name_begin), all.substr(s.value_begin, s.end - s.value_begin)};
}

void form_params::record(std::size_t name_begin, std::size_t value_begin, std::size_t end)
{
    spans_.push_back({static_cast<std::uint32_t>(name_begin), static_cast<std::uint32_t>(value_begin),
        static_cast<std::uint32_t>(end)});
}

void form_params::add(std::string_view name, std::string_view value)
{
    const std::size_t name_begin = storage_.size();
    storage_.append(name);
    const std::size_t value_begin = storage_.size();
    storage_.append(value);
    record(name_begin, value_begin, storage_.size());
}

namespace {

// Decodes one name or value onto the end of `out` (repairing invalid UTF-8 in place).
void decode_into(std::string& out, std::string_view raw)
{
    const std::size_t begin = out.size();
    text::percent_decode_append(out, raw, true);
    const std::string_view decoded = std::string_view(out).substr(begin);
    if (!text::is_valid_utf8(decoded)) {
        std::string repaired = text::repair_utf8(std::string(decoded));
        out.resize(begin);
        out += repaired;
    }
}

} // namespace

form_params parse_form(std::string_view body)
{
    form_params params;
    std::string& out = params.buffer();
    // Decoding never lengthens the input, except where invalid UTF-8 is repaired; one span a
    // '&'-separated piece at most. Two allocations, however many fields.
    out.reserve(body.size());
    params.reserve(static_cast<std::size_t>(std::count(body.begin(), body.end(), '&')) + 1);
    while (!body.empty()) {
        const std::size_t amp = body.find('&');
        const std::string_view piece = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        if (piece.empty()) {
            continue;
        }
        const std::size_t eq = piece.find('=');
        const std::size_t name_begin = out.size();
        decode_into(out, piece.substr(0, eq));
        const std::size_t value_begin = out.size();
        if (eq != std::string_view::npos) {
            decode_into(out, piece.substr(eq + 1));
        }
        params.record(name_begin, value_begin, out.size());
    }
    return params;
}

std::string form_encode(const form_params& params)
{
    std::string out;
    for (std::size_t i = 0; i < params.size(); ++i) {
        const auto p = params[i];
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
