// A small TwiML reader for the call simulator: a document in, a tree of elements out.
// Only the XML subset TwiML uses: no DTDs, no processing instructions beyond the XML declaration.
#pragma once

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::twiml {

struct node {
    std::string name; // element name, e.g. "Gather"
    std::vector<std::pair<std::string, std::string>> attributes; // in document order, values unescaped
    std::string text; // character data directly inside, unescaped, trimmed of ASCII whitespace
    std::vector<node> children;

    std::string_view attribute(std::string_view key) const noexcept; // "" when absent
    const node* child(std::string_view element) const noexcept; // first child with that name, or nullptr
};

// Bounds that keep hostile documents cheap: nesting (the tree is destroyed recursively) and
// attributes per element (duplicates are looked for pairwise). TwiML needs far less of either.
inline constexpr std::size_t max_depth = 32;
inline constexpr std::size_t max_attributes = 64;

// Parses a TwiML document: an optional <?xml ...?> declaration, comments between elements, one
// root element (normally "Response"); CDATA sections are read as text. Line ends are normalised
// and attribute values whitespace-normalised as XML 1.0 requires. Error: invalid_parameter, with
// `problem` (when given) set to a short message naming the offset, e.g.
// "mismatched </Say> at offset 80, expected </Gather>".
boost::system::result<node> read(std::string_view document, std::string* problem = nullptr);

} // namespace switchboard::twiml
