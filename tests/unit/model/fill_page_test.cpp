// The maintenance page filler: every {{reason}} replaced by the HTML-escaped reason, nothing else touched.
#include <gatehouse/model/snapshot.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace gatehouse;

// The five characters that matter in HTML text and attributes are escaped; everything else is copied as it is.
TEST(FillPage, EscapesTheReason) {
    EXPECT_EQ(model::fill_page("<p>{{reason}}</p>", "a<b>c&d\"e'f"), "<p>a&lt;b&gt;c&amp;d&quot;e&#39;f</p>");
    EXPECT_EQ(model::fill_page("<p title=\"{{reason}}\">", "\" onload=\"x"), "<p title=\"&quot; onload=&quot;x\">");
    EXPECT_EQ(model::fill_page("{{reason}}", "Mise à jour 1.7 — 10 min"), "Mise à jour 1.7 — 10 min");
    EXPECT_EQ(model::fill_page("{{reason}}", "&amp;"), "&amp;amp;") << "an entity in the reason is text, not markup";
}

// Every occurrence is replaced, at the start, at the end and back to back.
TEST(FillPage, ReplacesEveryPlaceholder) {
    EXPECT_EQ(model::fill_page("{{reason}} mid {{reason}}", "R"), "R mid R");
    EXPECT_EQ(model::fill_page("{{reason}}{{reason}}{{reason}}", "ab"), "ababab");
    EXPECT_EQ(model::fill_page("x{{reason}}", ""), "x");
}

// A page without the exact placeholder is returned unchanged; near misses are not placeholders.
TEST(FillPage, LeavesEverythingElseAlone) {
    const std::string page = "<html><body>{{ reason }} {{REASON}} {reason} {{reason} {{reasons}}</body></html>";
    EXPECT_EQ(model::fill_page(page, "X"), "<html><body>{{ reason }} {{REASON}} {reason} {{reason} {{reasons}}</body></html>");
    EXPECT_EQ(model::fill_page("", "X"), "");
    EXPECT_EQ(model::fill_page("{{{reason}}}", "X"), "{X}");
}

// A reason that itself contains the placeholder is inserted once, not expanded again.
TEST(FillPage, ReasonIsNotExpandedAgain) {
    EXPECT_EQ(model::fill_page("{{reason}}", "{{reason}}"), "{{reason}}");
    EXPECT_EQ(model::fill_page("[{{reason}}][{{reason}}]", "{{reason}}{{reason}}"),
              "[{{reason}}{{reason}}][{{reason}}{{reason}}]");
}

// The page's own markup, including its own entities and quotes, is never escaped.
TEST(FillPage, PageMarkupIsNotEscaped) {
    const std::string page = "<!doctype html><meta charset=\"utf-8\"><p class='x'>&copy; {{reason}} &amp; co</p>";
    EXPECT_EQ(model::fill_page(page, "r"), "<!doctype html><meta charset=\"utf-8\"><p class='x'>&copy; r &amp; co</p>");
}
