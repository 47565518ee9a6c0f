// Helpers shared by the config tests: a minimal node section, and the one problem a bad text must produce.
#pragma once

#include <gatehouse/config/load.hpp>

#include <gtest/gtest.h>

#include <string>

namespace gatehouse::config::test {

/// The smallest valid node list.
constexpr const char* node = "[[upstream.node]]\nname = \"n\"\naddress = \"127.0.0.1:13001\"\n";

/// The single problem `text` must be refused with (a test failure when there are none or several).
inline config_problem only_problem(const std::string& text) {
    try {
        parse_config(text, "test.toml");
    } catch (const config_error& e) {
        EXPECT_EQ(e.problems().size(), 1u) << e.what();
        return e.problems().front();
    }
    ADD_FAILURE() << "expected a config_error for:\n" << text;
    return {};
}

}  // namespace gatehouse::config::test
