// The composition root: owns the io_context, the listeners and every long-lived object, starts
// them in order (listen late) and drains them on SIGTERM/SIGINT.
#pragma once

#include "service/app/config.hpp"

#include <memory>

namespace switchboard {

class application {
public:
    explicit application(config cfg);
    ~application();
    application(const application&) = delete;
    application& operator=(const application&) = delete;

    // Serves until SIGTERM or SIGINT has drained the listeners; returns the exit code.
    int run();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace switchboard
