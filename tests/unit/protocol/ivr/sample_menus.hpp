// The example lines file every IVR test reads (deploy/menus/lines.example.json), parsed.
#pragma once

#include "protocol/ivr/ivr_menu.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <memory>
#include <sstream>

namespace switchboard::test {

inline std::shared_ptr<const ivr::definition> sample()
{
    std::ifstream in(SWITCHBOARD_SOURCE_DIR "/deploy/menus/lines.example.json");
    std::ostringstream s;
    s << in.rdbuf();
    auto r = ivr::parse(s.str());
    for (const auto& p : r.problems) {
        BOOST_TEST_MESSAGE(p.path << ": " << p.message);
    }
    BOOST_REQUIRE(r.def);
    return r.def;
}

} // namespace switchboard::test
