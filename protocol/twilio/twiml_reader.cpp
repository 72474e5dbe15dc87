// TwiML reading: a bounded, non-recursive parser of the XML subset TwiML documents use.
#include "protocol/twilio/twiml_reader.hpp"

#include "protocol/core/error.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace switchboard::twiml {
namespace {

constexpr std::string_view space = " \t\n\r";
constexpr auto key_of = &std::pair<std::string, std::string>::first;

bool is_space(char c) noexcept
{
    return space.find(c) != std::string_view::npos;
}

// XML names, loosely: any non-ASCII byte is accepted as a name character.
bool is_name_char(char c, bool first) noexcept
{
    const auto b = static_cast<unsigned char>(c);
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '_' || b == ':' || b >= 0x80
        || (!first && ((b >= '0' && b <= '9') || b == '-' || b == '.'));
}

// The code point `digits` name in `base`, or 0 when that is no XML 1.0 Char (U+0000 is none):
// #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
std::uint32_t code_point(std::string_view digits, int base) noexcept
{
    std::uint32_t cp = 0;
    const char* const end = digits.data() + digits.size();
    const auto [last, ec] = std::from_chars(digits.data(), end, cp, base);
    if (ec != std::errc() || last != end) {
        return 0;
    }
    const bool xml_char = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF)
        || (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
    return xml_char ? cp : 0;
}

void append_utf8(std::string& out, std::uint32_t cp)
{
    if (cp < 0x80) {
        out += static_cast<char>(cp);
        return;
    }
    const int tail = cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;
    constexpr unsigned char lead[] = {0, 0xC0, 0xE0, 0xF0};
    out += static_cast<char>(lead[tail] | (cp >> (6 * tail)));
    for (int i = tail - 1; i >= 0; --i) {
        out += static_cast<char>(0x80 | ((cp >> (6 * i)) & 0x3F));
    }
}

class parser {
public:
    explicit parser(std::string_view doc) : doc_(doc) { }

    bool run();
    node& root() noexcept { return root_; }
    const std::string& problem() const noexcept { return problem_; }

private:
    bool eof() const noexcept { return pos_ >= doc_.size(); }
    char peek() const noexcept { return eof() ? '\0' : doc_[pos_]; }
    bool at(std::string_view s) const noexcept { return doc_.substr(pos_).starts_with(s); }

    void skip_space() noexcept
    {
        while (is_space(peek())) {
            ++pos_;
        }
    }

    bool fail(std::string_view what, std::size_t offset, std::string_view after = {})
    {
        problem_ = std::string(what) + " at offset " + std::to_string(offset) + std::string(after);
        return false;
    }

    // For a construct cut short: running out of document is the more useful report.
    bool malformed(std::string_view what, std::size_t offset)
    {
        return eof() ? fail("unexpected end of document", doc_.size()) : fail(what, offset);
    }

    bool skip_past(std::string_view terminator)
    {
        const std::size_t end = doc_.find(terminator, pos_);
        pos_ = end == std::string_view::npos ? doc_.size() : end + terminator.size();
        return end != std::string_view::npos || malformed({}, 0);
    }

    std::string name() // empty when there is none
    {
        const std::size_t start = pos_;
        while (is_name_char(peek(), pos_ == start)) {
            ++pos_;
        }
        return std::string(doc_.substr(start, pos_ - start));
    }

    bool reference(std::string& out);
    bool chars(std::string& out, char quote);
    bool start_tag();
    bool end_tag();
    void finish();

    std::string_view doc_;
    std::size_t pos_ = 0;
    std::vector<node> open_; // the element being filled, after its ancestors
    node root_;
    bool have_root_ = false;
    std::string problem_;
};

// At '&': one of the five predefined entities or a character reference.
bool parser::reference(std::string& out)
{
    static constexpr std::pair<std::string_view, char> named[]
        = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    const std::size_t start = pos_++;
    while (pos_ - start <= 16 && (is_name_char(peek(), false) || peek() == '#')) {
        ++pos_;
    }
    if (peek() != ';' || pos_ == start + 1) {
        return malformed("malformed entity", start);
    }
    const std::string_view ref = doc_.substr(start + 1, pos_++ - start - 1);
    for (const auto& [entity, c] : named) {
        if (ref == entity) {
            out += c;
            return true;
        }
    }
    if (ref[0] != '#') {
        return fail("unknown entity &" + std::string(ref) + ";", start);
    }
    const bool hex = ref.starts_with("#x");
    const std::uint32_t cp = code_point(ref.substr(hex ? 2 : 1), hex ? 16 : 10);
    if (cp == 0) {
        return fail("invalid character reference &" + std::string(ref) + ";", start);
    }
    append_utf8(out, cp);
    return true;
}

// Character data up to '<' (element content, quote == 0) or up to the closing quote (an
// attribute value), references decoded, line ends and attribute whitespace normalised
// (XML 1.0 sections 2.11 and 3.3.3).
bool parser::chars(std::string& out, char quote)
{
    while (!eof() && peek() != (quote == 0 ? '<' : quote)) {
        const char c = doc_[pos_];
        if (c == '&') {
            if (!reference(out)) {
                return false;
            }
            continue;
        }
        if (c == '<' || (static_cast<unsigned char>(c) < 0x20 && !is_space(c))) {
            return fail(c == '<' ? "malformed attribute: '<' in value" : "control character", pos_);
        }
        ++pos_;
        if (c == '\r' && peek() == '\n') {
            ++pos_;
        }
        out += quote != 0 && is_space(c) ? ' ' : c == '\r' ? '\n' : c;
    }
    return !eof() || malformed({}, 0);
}

// At '<' of a start tag: opens the element, reads its attributes through '>' or '/>'.
bool parser::start_tag()
{
    const std::size_t start = pos_++;
    node& n = open_.emplace_back();
    n.name = name();
    if (n.name.empty()) {
        return malformed("malformed tag", start);
    }
    while (true) {
        const std::size_t before = pos_;
        skip_space();
        const bool self_closing = at("/>");
        if (self_closing || peek() == '>') {
            pos_ += self_closing ? 2 : 1;
            if (self_closing) {
                finish();
            }
            return true;
        }
        const std::size_t attribute_start = pos_;
        std::string key = pos_ == before ? std::string() : name();
        skip_space();
        if (key.empty() || peek() != '=') {
            return malformed("malformed attribute", attribute_start);
        }
        ++pos_;
        skip_space();
        const char quote = peek();
        if (quote != '"' && quote != '\'') {
            return malformed("malformed attribute", attribute_start);
        }
        ++pos_;
        std::string value;
        if (!chars(value, quote)) {
            return false;
        }
        ++pos_;
        if (n.attributes.size() == max_attributes) {
            return fail("too many attributes", attribute_start);
        }
        if (std::ranges::find(n.attributes, key, key_of) != n.attributes.end()) {
            return fail("duplicate attribute " + key, attribute_start);
        }
        n.attributes.emplace_back(std::move(key), std::move(value));
    }
}

// At '</': closes the innermost open element.
bool parser::end_tag()
{
    const std::size_t start = pos_;
    pos_ += 2;
    const std::string closing = name();
    skip_space();
    if (closing.empty() || peek() != '>') {
        return malformed("malformed tag", start);
    }
    ++pos_;
    if (closing != open_.back().name) {
        return fail("mismatched </" + closing + ">", start, ", expected </" + open_.back().name + ">");
    }
    finish();
    return true;
}

void parser::finish()
{
    node done = std::move(open_.back());
    open_.pop_back();
    const std::size_t begin = done.text.find_first_not_of(space);
    done.text
        = begin == std::string::npos ? "" : done.text.substr(begin, done.text.find_last_not_of(space) - begin + 1);
    if (open_.empty()) {
        root_ = std::move(done);
        have_root_ = true;
    } else {
        open_.back().children.push_back(std::move(done));
    }
}

bool parser::run()
{
    if (at("\xEF\xBB\xBF")) {
        pos_ += 3;
    }
    if (at("<?xml") && doc_.size() > pos_ + 5 && is_space(doc_[pos_ + 5]) && !skip_past("?>")) {
        return false;
    }
    open_.reserve(max_depth);
    while (true) {
        if (open_.empty()) {
            skip_space();
            if (eof()) {
                return have_root_ || malformed({}, 0);
            }
            if (peek() != '<' || at("<![CDATA[")) {
                return fail("text outside the root element", pos_);
            }
        } else if (peek() != '<') {
            if (!chars(open_.back().text, 0)) {
                return false;
            }
            continue;
        }
        bool ok = true;
        if (at("<!--")) {
            pos_ += 4;
            ok = skip_past("-->");
        } else if (at("<![CDATA[")) {
            const std::size_t start = pos_ += 9;
            ok = skip_past("]]>");
            open_.back().text += doc_.substr(start, ok ? pos_ - 3 - start : 0);
        } else if (at("<!") || at("<?")) {
            return fail("unsupported markup", pos_);
        } else if (at("</")) {
            ok = open_.empty() ? fail("unexpected close tag", pos_) : end_tag();
        } else if (have_root_) {
            return fail("second root element", pos_);
        } else if (open_.size() == max_depth) {
            return fail("elements nested deeper than " + std::to_string(max_depth), pos_);
        } else {
            ok = start_tag();
        }
        if (!ok) {
            return false;
        }
    }
}

} // namespace

std::string_view node::attribute(std::string_view key) const noexcept
{
    const auto it = std::ranges::find(attributes, key, key_of);
    return it == attributes.end() ? std::string_view() : it->second;
}

const node* node::child(std::string_view element) const noexcept
{
    const auto it = std::ranges::find(children, element, &node::name);
    return it == children.end() ? nullptr : &*it;
}

boost::system::result<node> read(std::string_view document, std::string* problem)
{
    parser p(document);
    if (p.run()) {
        return std::move(p.root());
    }
    if (problem != nullptr) {
        *problem = p.problem();
    }
    return error::invalid_parameter;
}

} // namespace switchboard::twiml
