// A small escaping TwiML builder. Output matches the npm `twilio` VoiceResponse serialisation
// byte for byte: attributes in the order given, empty elements as <Verb/>.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::twiml {

struct attribute {
    std::string_view name;
    std::string_view value;
};
using attributes = std::initializer_list<attribute>;

// Attributes decided at run time: only the ones that are set, in the order added.
class attribute_list {
public:
    struct item {
        std::string_view name; // a literal
        std::string value;
    };
    attribute_list& add(std::string_view name, std::string value)
    {
        items_.push_back({name, std::move(value)});
        return *this;
    }
    auto begin() const noexcept { return items_.begin(); }
    auto end() const noexcept { return items_.end(); }

private:
    std::vector<item> items_;
};

// XML 1.0 text/attribute escaping; characters XML 1.0 forbids are dropped.
std::string escape_text(std::string_view in);
std::string escape_attribute(std::string_view in);

class response {
public:
    response();

    // Generic element writers; `open` must be balanced by `close`.
    response& open(std::string_view verb, attributes attrs = {});
    response& close();
    response& element(std::string_view verb, attributes attrs, std::string_view text);
    response& empty(std::string_view verb, attributes attrs = {});
    response& open(std::string_view verb, const attribute_list& attrs);
    response& element(std::string_view verb, const attribute_list& attrs, std::string_view text);
    response& empty(std::string_view verb, const attribute_list& attrs);

    // The verbs the IVR uses.
    response& say(std::string_view text, std::string_view voice = {}, std::string_view language = {});
    response& pause(int seconds);
    response& redirect(std::string_view url, std::string_view method = "POST");
    response& hangup() { return empty("Hangup"); }

    // The finished document. Closes any element left open.
    std::string str() &&;

private:
    // One implementation for both attribute kinds (each element has .name and .value).
    template <class Attrs> void write_start(std::string_view verb, const Attrs& attrs);
    template <class Attrs> response& open_element(std::string_view verb, const Attrs& attrs);
    template <class Attrs> response& text_element(std::string_view verb, const Attrs& attrs, std::string_view text);
    template <class Attrs> response& empty_element(std::string_view verb, const Attrs& attrs);

    std::string out_;
    std::vector<std::string_view> open_;
};

inline constexpr std::string_view content_type = "text/xml; charset=utf-8";

} // namespace switchboard::twiml
