// The store's export format (`switchboard store export` / `import`): NDJSON, one record a line,
// the same for every backend, so a deployment moves its history from one store to another.
//
//   {"kind":"header","format":"switchboard-store-export","version":1,"store":"sqlite","exported_at_ms":…}
//   {"kind":"event","seq":…,"id":…,"type":…,"occurred_at_ms":…,"dedupe_key":…,"subject":…,
//    "payload":"<the event document>","deliveries":[{"subscriber":…,"state":"pending|in_flight|delivered|dead",
//    "attempts":…,"next_attempt_at_ms":…,"first_attempt_at_ms":…|null,"last_attempt_at_ms":…|null,
//    "last_status":…,"last_error":…}]}                               (in seq order)
//   {"kind":"call", call_record fields}  {"kind":"message", message_record fields}
//   {"kind":"number","sid":…,"phone_number":…,"friendly_name":…,"purchased_at_ms":…}
//   {"kind":"totals","values":{name: value, …}}                   (the running counters)
//   {"kind":"subscriber","name":…,"document":"<the stored document>","version":…}   (the subscriber API's)
//   {"kind":"end","events":…,"deliveries":…,"calls":…,"messages":…,"numbers":…,"subscribers":…}
//   (a file written before stored subscribers existed has no "subscribers" count: 0)
//
// The end line counts what came before it: an import refuses a file without it, or whose
// counts differ (a truncated copy). Pure: no I/O; parse_line() is fuzzed.
#pragma once

#include "protocol/events/records.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace switchboard::store_export {

inline constexpr std::string_view format_name = "switchboard-store-export";
inline constexpr int format_version = 1;

struct header {
    std::string store; // the backend it came from: sqlite | redis
    std::int64_t exported_at_ms = 0;
    bool operator==(const header&) const = default;
};

struct delivery {
    std::string subscriber;
    std::string state; // pending | in_flight | delivered | dead
    std::int64_t attempts = 0;
    std::int64_t next_attempt_at_ms = 0;
    std::optional<std::int64_t> first_attempt_at_ms;
    std::optional<std::int64_t> last_attempt_at_ms;
    std::int64_t last_status = 0;
    std::string last_error;
    bool operator==(const delivery&) const = default;
};

struct event {
    std::int64_t seq = 0;
    std::string id;
    std::string type;
    std::int64_t occurred_at_ms = 0;
    std::string dedupe_key;
    std::string subject; // the call or message SID ("" for none)
    std::string payload; // the event document (JSON), as delivered
    std::vector<delivery> deliveries;
    bool operator==(const event&) const = default;
};

struct number {
    std::string sid;
    std::string phone_number;
    std::string friendly_name;
    std::int64_t purchased_at_ms = 0;
    bool operator==(const number&) const = default;
};

struct totals {
    std::map<std::string, std::int64_t> values;
    bool operator==(const totals&) const = default;
};

// A subscriber stored through the subscriber API, as the store keeps it.
struct subscriber {
    std::string name;
    std::string document; // JSON
    std::int64_t version = 0;
    bool operator==(const subscriber&) const = default;
};

struct counts {
    std::int64_t events = 0;
    std::int64_t deliveries = 0;
    std::int64_t calls = 0;
    std::int64_t messages = 0;
    std::int64_t numbers = 0;
    std::int64_t subscribers = 0;
    bool operator==(const counts&) const = default;
};

using line = std::variant<header, event, call_record, message_record, number, totals, counts, subscriber>;

// One line of the file (no newline; JSON strings escape every control character).
std::string to_line(const line& l);

// A line back, or why not ("line: …" is the caller's to add): unknown kind, a missing or
// mistyped field, a state that does not exist, a header of another format or version.
boost::system::result<line> parse_line(std::string_view text, std::string* problem = nullptr);

// What the end line must say: adds one line's records.
void add(counts& c, const line& l);

} // namespace switchboard::store_export
