// The one Boost.Test module definition shared by every unit test executable.
#define BOOST_TEST_MODULE stamp
#include <boost/test/unit_test.hpp>
