// The live IVR menu definition: the configured file (or the built-in JobMatch line), checked
// and swapped in whole on reload. A request works on the snapshot it took, so a reload never
// changes a document half-way; later steps of a call find their menu by name in the new one.
#pragma once

#include "protocol/ivr/ivr_menu.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace switchboard {

class metrics;

// Reads and checks a definition file; a file that cannot be read is one problem at "$".
// `assistant_url`: SWITCHBOARD_ASSISTANT_URL, for assistant actions without their own url.
ivr::parse_result load_menu_file(const std::string& path, std::string_view assistant_url);

// "path: message" lines, one per problem.
std::string describe(const std::vector<ivr::problem>& problems);

class menu_catalog {
public:
    // Throws std::runtime_error listing every problem when the start-up definition is invalid.
    menu_catalog(std::string path, std::string assistant_url, metrics& stats);

    std::shared_ptr<const ivr::definition> current() const;
    const std::string& path() const noexcept { return path_; }

    // Re-reads the file. True: the new definition is live. False: refused (logged, counted),
    // the previous one stays live. Without a file there is nothing to reload (true).
    bool reload();
    // Whether the file's modification time or size changed since it was last read.
    bool file_changed() const;

private:
    void install(std::shared_ptr<const ivr::definition> def);

    std::string path_;
    std::string assistant_url_;
    metrics& stats_;
    mutable std::mutex mutex_;
    std::shared_ptr<const ivr::definition> current_;
    struct stamp {
        std::filesystem::file_time_type mtime;
        std::uintmax_t size = 0;
        bool operator==(const stamp&) const = default;
    };
    static std::optional<stamp> stamp_of(const std::string& path);
    std::optional<stamp> loaded_stamp_; // guarded by mutex_
};

} // namespace switchboard
