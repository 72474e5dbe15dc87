// protocol/ivr/ivr_graph.cpp: ivr::to_dot, the Graphviz picture of a definition.
#include "protocol/ivr/ivr_menu.hpp"

#include "tests/unit/protocol/ivr/sample_menus.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

using namespace switchboard;

using switchboard::test::sample;

BOOST_AUTO_TEST_SUITE(ivr_graph)

BOOST_AUTO_TEST_CASE(graph_shows_lines_menus_and_options)
{
    const std::string dot = ivr::to_dot(*sample());
    BOOST_TEST(dot.starts_with("digraph ivr {"));
    BOOST_TEST(
        dot.find(R"x(line_samsaek -> menu_samsaek_closed [label="closed (America/New_York)"];)x") != std::string::npos);
    BOOST_TEST(dot.find(R"(menu_samsaek_main -> menu_sales [label="1 / \"sales\" / \"buy\""];)") != std::string::npos);
    BOOST_TEST(dot.find("no answer") != std::string::npos);
    // back is an edge to the menu the caller came from, not a loop.
    BOOST_TEST(dot.find(R"x(menu_sales -> menu_samsaek_main [label="9 (back)", style=dashed];)x") != std::string::npos);
    BOOST_TEST(dot.find(R"x(menu_sales -> menu_sales [label="9)x") == std::string::npos);
    // A start menu has nowhere to go back to: the caller hears it again.
    const auto start
        = ivr::parse(R"({"version":1,"lines":{"l":{"default":true,"menu":"m"}},"menus":{"m":{"prompt":"Hi","options":[)"
                     R"({"digits":"9","action":{"type":"back"}},{"digits":"1","action":{"type":"repeat"}}],)"
                     R"("give_up":{"type":"hangup"}}}})");
    BOOST_REQUIRE(start.def);
    const std::string loop = ivr::to_dot(*start.def);
    BOOST_TEST(loop.find(R"x(menu_m -> menu_m [label="9 (back: hears this menu again)", style=dashed];)x")
        != std::string::npos);
    BOOST_TEST(loop.find(R"x(menu_m -> menu_m [label="1 (repeat)", style=dashed];)x") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
