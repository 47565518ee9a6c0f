// The embedded status page: exactly src/admin/status_page.html, and self-contained.
#include <gatehouse/admin/status_page.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

namespace {

std::string page_source() {
    std::ifstream in(GATEHOUSE_SOURCE_DIR "/src/admin/status_page.html", std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(StatusPage, IsTheHtmlFileByteForByte) {
    const auto source = page_source();
    ASSERT_FALSE(source.empty()) << "cannot read src/admin/status_page.html";
    EXPECT_EQ(gatehouse::admin::status_page_html(), source)
        << "the embedded page differs from src/admin/status_page.html (stale generated file?)";
}

TEST(StatusPage, LoadsNothingFromElsewhere) {
    const std::string page(gatehouse::admin::status_page_html());
    ASSERT_TRUE(page.starts_with("<!doctype html>"));
    // No URL with a scheme or protocol-relative host, no external stylesheet, script, image or font.
    for (const char* forbidden : {"http://", "https://", "src=\"//", "href=\"//", "url(", "<link", "<img",
                                  "<iframe", "@import", "<script src", "import("})
        EXPECT_EQ(page.find(forbidden), std::string::npos) << "found '" << forbidden << "'";
    // It talks only to its own origin's admin API.
    EXPECT_NE(page.find("\"/api/status\""), std::string::npos);
    EXPECT_NE(page.find("\"/api/maintenance\""), std::string::npos);
    EXPECT_NE(page.find("</html>"), std::string::npos);
}
