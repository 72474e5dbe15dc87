// protocol/ivr/ivr_menu.cpp: the definition's lookups (the line that answers a called number).
#include "protocol/ivr/ivr_menu.hpp"

#include "tests/unit/protocol/ivr/sample_menus.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

using namespace switchboard;

using switchboard::test::sample;

BOOST_AUTO_TEST_SUITE(ivr_menu)

BOOST_AUTO_TEST_CASE(lines_are_chosen_by_the_called_number)
{
    const auto d = sample();
    BOOST_TEST(d->line_for("+18005550199").id == "samsaek");
    BOOST_TEST(d->line_for("+18005550100").id == "jobmatch");
    BOOST_TEST(d->line_for("+19995550000").id == "jobmatch"); // the default
    BOOST_TEST(d->line_for("").id == "jobmatch");
}

BOOST_AUTO_TEST_SUITE_END()
