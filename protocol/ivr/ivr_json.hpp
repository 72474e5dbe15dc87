// Checked reads from a parsed JSON document: each wrong type, range or unknown key becomes one
// problem with its JSON path, and reading goes on so one run reports everything.
#pragma once

#include "protocol/ivr/ivr_menu.hpp"

#include <boost/json/value.hpp>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::ivr {

// base.key, or base["key"] when key is not a plain identifier.
std::string json_path(std::string_view base, std::string_view key);

// The first object key that appears twice in one object (JSON parsers keep only the last).
std::optional<problem> first_duplicate_key(std::string_view json);

class json_reader {
public:
    explicit json_reader(std::vector<problem>& out) : out_(out) { }

    void fail(std::string path, std::string message);

    // Unknown keys are problems: a typo must not be silently ignored.
    void keys(const boost::json::object& o, const std::string& path, std::initializer_list<std::string_view> allowed);

    const boost::json::object* object(
        const boost::json::value& v, const std::string& path, std::string_view what = "an object");
    const boost::json::array* array(const boost::json::value& v, const std::string& path);
    std::optional<std::string> string(const boost::json::value& v, const std::string& path, std::size_t max);
    std::optional<int> integer(const boost::json::value& v, const std::string& path, int min, int max);

    // Members of `o`; nullopt/null when absent (a problem when `required`) or wrong.
    std::optional<std::string> text(const boost::json::object& o, const std::string& path, std::string_view key,
        std::size_t max, bool required = false);
    std::optional<bool> boolean(const boost::json::object& o, const std::string& path, std::string_view key);
    std::optional<int> member_integer(
        const boost::json::object& o, const std::string& path, std::string_view key, int min, int max);
    const boost::json::object* member_object(
        const boost::json::object& o, const std::string& path, std::string_view key, bool required = false);
    const boost::json::array* member_array(
        const boost::json::object& o, const std::string& path, std::string_view key, bool required = false);

private:
    // The member, or null (a problem when `required`).
    const boost::json::value* member(
        const boost::json::object& o, const std::string& path, std::string_view key, bool required);

    std::vector<problem>& out_;
};

} // namespace switchboard::ivr
