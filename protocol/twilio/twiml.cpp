// TwiML serialisation and escaping.
#include "protocol/twilio/twiml.hpp"

#include <cassert>

namespace switchboard::twiml {
namespace {

// XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
// In UTF-8 the only forbidden code points we can meet are C0 controls and U+FFFE/U+FFFF.
template <class Escape> std::string escape(std::string_view in, Escape escape_char)
{
    std::string out;
    out.reserve(in.size() + 16);
    for (std::size_t i = 0; i < in.size(); ++i) {
        const auto b = static_cast<unsigned char>(in[i]);
        if (b < 0x20 && b != '\t' && b != '\n' && b != '\r') {
            continue;
        }
        if (b == 0xEF && i + 2 < in.size() && static_cast<unsigned char>(in[i + 1]) == 0xBF
            && (static_cast<unsigned char>(in[i + 2]) == 0xBE || static_cast<unsigned char>(in[i + 2]) == 0xBF)) {
            i += 2;
            continue;
        }
        if (!escape_char(out, in[i])) {
            out.push_back(in[i]);
        }
    }
    return out;
}

} // namespace

std::string escape_text(std::string_view in)
{
    return escape(in, [](std::string& out, char c) {
        switch (c) {
        case '&':
            out += "&amp;";
            return true;
        case '<':
            out += "&lt;";
            return true;
        case '>':
            out += "&gt;";
            return true;
        case '\r':
            out += "&#xD;";
            return true;
        default:
            return false;
        }
    });
}

std::string escape_attribute(std::string_view in)
{
    return escape(in, [](std::string& out, char c) {
        switch (c) {
        case '&':
            out += "&amp;";
            return true;
        case '<':
            out += "&lt;";
            return true;
        case '"':
            out += "&quot;";
            return true;
        case '\t':
            out += "&#x9;";
            return true;
        case '\n':
            out += "&#xA;";
            return true;
        case '\r':
            out += "&#xD;";
            return true;
        default:
            return false;
        }
    });
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
        out_ += escape_attribute(a.value);
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
    out_ += escape_text(text);
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
