// Boost.Test entry point of the unit tests (pure logic, no sockets).
#define BOOST_TEST_MODULE switchboard_unit
#include <boost/test/unit_test.hpp>
