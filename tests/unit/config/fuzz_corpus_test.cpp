// The configuration fuzzer's seeds (tests/fuzz/corpus/config/) are configurations of today's format: each parses as
// the fuzzer parses it, except errors.toml, which must keep failing on several keys at once.
#include <gatehouse/config/load.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace {

const std::filesystem::path corpus = std::filesystem::path(GATEHOUSE_SOURCE_DIR) / "tests/fuzz/corpus/config";

std::string read(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(FuzzCorpus, ConfigSeedsParse) {
    int seeds = 0;
    for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
        if (entry.path().filename() == "errors.toml") continue;
        ++seeds;
        try {
            const auto c = gatehouse::config::parse_config(read(entry.path()), "fuzz.toml");
            EXPECT_FALSE(c.upstream.nodes.empty()) << entry.path();
        } catch (const gatehouse::config::config_error& e) {
            ADD_FAILURE() << entry.path() << " no longer parses:\n" << e.what();
        }
    }
    EXPECT_GE(seeds, 4);
}

TEST(FuzzCorpus, ErrorsSeedFailsOnEveryBadKey) {
    try {
        gatehouse::config::parse_config(read(corpus / "errors.toml"), "fuzz.toml");
        ADD_FAILURE() << "errors.toml parsed";
    } catch (const gatehouse::config::config_error& e) {
        EXPECT_GE(e.problems().size(), 6u) << e.what();
    }
}

}  // namespace
