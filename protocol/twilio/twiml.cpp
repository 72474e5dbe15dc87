// TwiML serialisation and escaping.
#include "protocol/twilio/twiml.hpp"

#include <cassert>

namespace switchboard::twiml {
namespace {

// What a byte needs in text or in an attribute value: kept as is, dropped, or replaced.
enum class context { text, attribute };

std::string_view replacement(char c, context where) noexcept
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return where == context::text ? "&gt;" : std::string_view{};
    case '"':
        return where == context::attribute ? "&quot;" : std::string_view{};
    case '\t':
        return where == context::attribute ? "&#x9;" : std::string_view{};
    case '\n':
        return where == context::attribute ? "&#xA;" : std::string_view{};
    case '\r':
        return "&#xD;";
    default:
        return {};
    }
}

// Bytes that are not copied as they are: the replaced ones, C0 controls (dropped) and 0xEF
// (the start of U+FFFE/U+FFFF, also dropped).
constexpr bool special(unsigned char b, context where) noexcept
{
    if (b < 0x20 || b == 0xEF || b == '&' || b == '<') {
        return true;
    }
    return where == context::text ? b == '>' : b == '"';
}

// XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
// In UTF-8 the only forbidden code points we can meet are C0 controls and U+FFFE/U+FFFF.
// Runs of ordinary bytes are appended whole.
void append_escaped(std::string& out, std::string_view in, context where)
{
    std::size_t run = 0; // start of the pending run of ordinary bytes
    for (std::size_t i = 0; i < in.size(); ++i) {
        const auto b = static_cast<unsigned char>(in[i]);
        if (!special(b, where)) {
            continue;
        }
        out.append(in.data() + run, i - run);
        run = i + 1;
        if (b == 0xEF) {
            if (i + 2 < in.size() && static_cast<unsigned char>(in[i + 1]) == 0xBF
                && (static_cast<unsigned char>(in[i + 2]) == 0xBE || static_cast<unsigned char>(in[i + 2]) == 0xBF)) {
                i += 2;
                run = i + 1;
            } else {
                out.push_back(in[i]);
            }
            continue;
        }
        if (const std::string_view r = replacement(in[i], where); !r.empty()) {
            out += r;
        } else if (b == '\t' || b == '\n') {
            out.push_back(in[i]); // kept as they are in text
        } // else another C0 control: dropped
    }
    out.append(in.data() + run, in.size() - run);
}

} // namespace

std::string escape_text(std::string_view in)
{
    std::string out;
    out.reserve(in.size() + 16);
    append_escaped(out, in, context::text);
    return out;
}

std::string escape_attribute(std::string_view in)
{
    std::string out;
    out.reserve(in.size() + 16);
    append_escaped(out, in, context::attribute);
    return out;
}

response::response()
{
    out_.reserve(512);
    out_ += R"(<?xml version="1.0" encoding="UTF-8"?><Response>)";
}

template <class Attrs> void response::write_start(std::string_view verb, const Attrs& attrs)
{
    out_ += '<';
    out_ += verb;
    for (const auto& a : attrs) {
        out_ += ' ';
        out_ += a.name;
        out_ += "=\"";
        append_escaped(out_, a.value, context::attribute);
        out_ += '"';
    }
}

template <class Attrs> response& response::open_element(std::string_view verb, const Attrs& attrs)
{
    write_start(verb, attrs);
    out_ += '>';
    open_.push_back(verb);
    return *this;
}

template <class Attrs>
response& response::text_element(std::string_view verb, const Attrs& attrs, std::string_view text)
{
    if (text.empty()) {
        return empty_element(verb, attrs);
    }
    write_start(verb, attrs);
    out_ += '>';
    append_escaped(out_, text, context::text);
    out_ += "</";
    out_ += verb;
    out_ += '>';
    return *this;
}

template <class Attrs> response& response::empty_element(std::string_view verb, const Attrs& attrs)
{
    write_start(verb, attrs);
    out_ += "/>";
    return *this;
}

response& response::open(std::string_view verb, attributes attrs)
{
    return open_element(verb, attrs);
}

response& response::open(std::string_view verb, const attribute_list& attrs)
{
    return open_element(verb, attrs);
}

response& response::element(std::string_view verb, attributes attrs, std::string_view text)
{
    return text_element(verb, attrs, text);
}

response& response::element(std::string_view verb, const attribute_list& attrs, std::string_view text)
{
    return text_element(verb, attrs, text);
}

response& response::empty(std::string_view verb, attributes attrs)
{
    return empty_element(verb, attrs);
}

response& response::empty(std::string_view verb, const attribute_list& attrs)
{
    return empty_element(verb, attrs);
}

response& response::close()
{
    assert(!open_.empty());
    out_ += "</";
    out_ += open_.back();
    out_ += '>';
    open_.pop_back();
    return *this;
}

response& response::say(std::string_view text, std::string_view voice, std::string_view language)
{
    if (!voice.empty() && !language.empty()) {
        return element("Say", {{"voice", voice}, {"language", language}}, text);
    }
    if (!voice.empty()) {
        return element("Say", {{"voice", voice}}, text);
    }
    if (!language.empty()) {
        return element("Say", {{"language", language}}, text);
    }
    return element("Say", {}, text);
}

response& response::pause(int seconds)
{
    const std::string length = std::to_string(seconds);
    return empty("Pause", {{"length", length}});
}

response& response::redirect(std::string_view url, std::string_view method)
{
    return element("Redirect", {{"method", method}}, url);
}

std::string response::str() &&
{
    while (!open_.empty()) {
        close();
    }
    if (out_.ends_with("<Response>")) {
        out_.pop_back();
        out_ += "/>";
    } else {
        out_ += "</Response>";
    }
    return std::move(out_);
}

} // namespace switchboard::twiml
