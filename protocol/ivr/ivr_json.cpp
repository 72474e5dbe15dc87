// Checked JSON reads with paths, and the duplicate-key scan (Boost.JSON keeps the last value).
#include "protocol/ivr/ivr_json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <set>

namespace switchboard::ivr {
namespace {

namespace json = boost::json;

std::string_view kind_name(const json::value& v)
{
    switch (v.kind()) {
    case json::kind::null:
        return "null";
    case json::kind::bool_:
        return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
        return "a number";
    case json::kind::string:
        return "a string";
    case json::kind::array:
        return "an array";
    case json::kind::object:
        return "an object";
    }
    return "a value";
}

bool is_identifier(std::string_view key)
{
    return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

// A SAX handler that tracks the path and the keys seen in each open object.
struct duplicate_finder {
    constexpr static std::size_t max_object_size = std::size_t(-1);
    constexpr static std::size_t max_array_size = std::size_t(-1);
    constexpr static std::size_t max_key_size = std::size_t(-1);
    constexpr static std::size_t max_string_size = std::size_t(-1);

    struct level {
        bool is_object = false;
        std::set<std::string> keys;
        std::string path;
        std::size_t index = 0; // arrays: the next element
        std::string key; // objects: the current key
    };
    std::vector<level> stack;
    std::string partial_key;
    std::optional<problem> found;

    std::string here() const
    {
        if (stack.empty()) {
            return "$";
        }
        const level& l = stack.back();
        return l.is_object ? json_path(l.path, l.key) : l.path + "[" + std::to_string(l.index) + "]";
    }
    void value_done()
    {
        if (!stack.empty() && !stack.back().is_object) {
            ++stack.back().index;
        }
    }
    bool open(bool is_object)
    {
        level l;
        l.is_object = is_object;
        l.path = here();
        stack.push_back(std::move(l));
        return true;
    }
    bool close()
    {
        stack.pop_back();
        value_done();
        return true;
    }

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) { return open(true); }
    bool on_object_end(std::size_t, boost::system::error_code&) { return close(); }
    bool on_array_begin(boost::system::error_code&) { return open(false); }
    bool on_array_end(std::size_t, boost::system::error_code&) { return close(); }
    bool on_key_part(std::string_view s, std::size_t, boost::system::error_code&)
    {
        partial_key.append(s);
        return true;
    }
    bool on_key(std::string_view s, std::size_t, boost::system::error_code&)
    {
        partial_key.append(s);
        level& l = stack.back();
        if (!l.keys.insert(partial_key).second && !found) {
            found = problem{json_path(l.path, partial_key), "duplicate key (only one value would be used)"};
        }
        l.key = std::move(partial_key);
        partial_key.clear();
        return true;
    }
    bool on_string_part(std::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_string(std::string_view, std::size_t, boost::system::error_code&) { return scalar(); }
    bool on_number_part(std::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t, std::string_view, boost::system::error_code&) { return scalar(); }
    bool on_uint64(std::uint64_t, std::string_view, boost::system::error_code&) { return scalar(); }
    bool on_double(double, std::string_view, boost::system::error_code&) { return scalar(); }
    bool on_bool(bool, boost::system::error_code&) { return scalar(); }
    bool on_null(boost::system::error_code&) { return scalar(); }
    bool on_comment_part(std::string_view, boost::system::error_code&) { return true; }
    bool on_comment(std::string_view, boost::system::error_code&) { return true; }
    bool scalar()
    {
        value_done();
        return true;
    }
};

} // namespace

std::string json_path(std::string_view base, std::string_view key)
{
    std::string out(base);
    if (is_identifier(key)) {
        out.append(".").append(key);
    } else {
        out.append("[").append(json::serialize(json::value(json::string(key)))).append("]");
    }
    return out;
}

std::optional<problem> first_duplicate_key(std::string_view text)
{
    json::basic_parser<duplicate_finder> p(json::parse_options{});
    boost::system::error_code ec;
    p.write_some(false, text.data(), text.size(), ec);
    return p.handler().found; // a syntax error is reported by the real parse
}

void json_reader::fail(std::string path, std::string message)
{
    out_.push_back({std::move(path), std::move(message)});
}

void json_reader::keys(const json::object& o, const std::string& path, std::initializer_list<std::string_view> allowed)
{
    for (const auto& [key, value] : o) {
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            std::string list;
            for (const auto a : allowed) {
                list.append(list.empty() ? "" : ", ").append(a);
            }
            fail(json_path(path, key), "unknown key (expected one of: " + list + ")");
        }
    }
}

const json::object* json_reader::object(const json::value& v, const std::string& path, std::string_view what)
{
    if (!v.is_object()) {
        fail(path, "must be " + std::string(what) + ", got " + std::string(kind_name(v)));
        return nullptr;
    }
    return &v.as_object();
}

const json::array* json_reader::array(const json::value& v, const std::string& path)
{
    if (!v.is_array()) {
        fail(path, "must be an array, got " + std::string(kind_name(v)));
        return nullptr;
    }
    return &v.as_array();
}

std::optional<std::string> json_reader::string(const json::value& v, const std::string& path, std::size_t max)
{
    if (!v.is_string()) {
        fail(path, "must be a string, got " + std::string(kind_name(v)));
        return std::nullopt;
    }
    const auto& s = v.as_string();
    if (s.size() > max) {
        fail(path, "is longer than " + std::to_string(max) + " bytes");
        return std::nullopt;
    }
    return std::string(s);
}

std::optional<int> json_reader::integer(const json::value& v, const std::string& path, int min, int max)
{
    const auto range = " from " + std::to_string(min) + " to " + std::to_string(max);
    if (!v.is_int64() && !v.is_uint64()) {
        fail(path, "must be a whole number" + range + ", got " + std::string(kind_name(v)));
        return std::nullopt;
    }
    const double n = v.is_int64() ? static_cast<double>(v.as_int64()) : static_cast<double>(v.as_uint64());
    if (n < min || n > max) {
        fail(path, "must be" + range + ", got " + json::serialize(v));
        return std::nullopt;
    }
    return static_cast<int>(n);
}

const json::value* json_reader::member(
    const json::object& o, const std::string& path, std::string_view key, bool required)
{
    const auto* v = o.if_contains(key);
    if (v == nullptr && required) {
        fail(json_path(path, key), "is required");
    }
    return v;
}

std::optional<std::string> json_reader::text(
    const json::object& o, const std::string& path, std::string_view key, std::size_t max, bool required)
{
    const auto* v = member(o, path, key, required);
    return v == nullptr ? std::nullopt : string(*v, json_path(path, key), max);
}

std::optional<bool> json_reader::boolean(const json::object& o, const std::string& path, std::string_view key)
{
    const auto* v = o.if_contains(key);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (!v->is_bool()) {
        fail(json_path(path, key), "must be true or false, got " + std::string(kind_name(*v)));
        return std::nullopt;
    }
    return v->as_bool();
}

std::optional<int> json_reader::member_integer(
    const json::object& o, const std::string& path, std::string_view key, int min, int max)
{
    const auto* v = o.if_contains(key);
    return v == nullptr ? std::nullopt : integer(*v, json_path(path, key), min, max);
}

const json::object* json_reader::member_object(
    const json::object& o, const std::string& path, std::string_view key, bool required)
{
    const auto* v = member(o, path, key, required);
    return v == nullptr ? nullptr : object(*v, json_path(path, key));
}

const json::array* json_reader::member_array(
    const json::object& o, const std::string& path, std::string_view key, bool required)
{
    const auto* v = member(o, path, key, required);
    return v == nullptr ? nullptr : array(*v, json_path(path, key));
}

} // namespace switchboard::ivr
