// The TwiML reader (protocol/twiml_reader) on any document: an error names its offset, a tree
// respects the bounds, and a <Response> tree written again by the TwiML builder reads back with
// the same shape.
#include "protocol/twilio/twiml.hpp"
#include "protocol/twilio/twiml_reader.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

namespace {

std::size_t depth(const twiml::node& n)
{
    std::size_t d = 0;
    for (const auto& c : n.children) {
        d = std::max(d, depth(c));
    }
    return d + 1;
}

void write(twiml::response& r, const twiml::node& n)
{
    twiml::attribute_list attrs;
    for (const auto& [key, value] : n.attributes) {
        attrs.add(key, value);
    }
    if (n.children.empty()) {
        r.element(n.name, attrs, n.text);
        return;
    }
    r.open(n.name, attrs);
    for (const auto& c : n.children) {
        write(r, c);
    }
    r.close();
}

bool same_shape(const twiml::node& a, const twiml::node& b)
{
    if (a.name != b.name || a.attributes.size() != b.attributes.size() || a.children.size() != b.children.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.attributes.size(); ++i) {
        if (a.attributes[i].first != b.attributes[i].first) {
            return false;
        }
    }
    for (std::size_t i = 0; i < a.children.size(); ++i) {
        if (!same_shape(a.children[i], b.children[i])) {
            return false;
        }
    }
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view doc = fuzz::as_text(data, size);
    fuzz::total([&] {
        std::string problem;
        const auto tree = twiml::read(doc, &problem);
        if (!tree) {
            fuzz::check(problem.find(" at offset ") != std::string::npos, "an error names its offset");
            return;
        }
        fuzz::check(depth(*tree) <= twiml::max_depth, "nesting is bounded");
        if (tree->name != "Response") {
            return;
        }
        twiml::response r;
        for (const auto& c : tree->children) {
            write(r, c);
        }
        const std::string again = std::move(r).str();
        const auto reread = twiml::read(again, &problem);
        fuzz::check(reread.has_value(), "what the builder writes reads back");
        twiml::node expected = *tree; // the builder writes its own <Response>: no text or attributes
        expected.text.clear();
        expected.attributes.clear();
        fuzz::check(same_shape(*reread, expected), "the tree read back has the same shape");
    });
    return 0;
}
