// nginx::parse: directives, arguments, quotes, comments and blocks with their lines; syntax errors with theirs.
#include <gatehouse/nginx/parse.hpp>

#include <gtest/gtest.h>

namespace gatehouse::nginx {
namespace {

// Directives, nested blocks, arguments and the line each directive starts on.
TEST(NginxParse, ReadsDirectivesBlocksAndLines) {
    const auto r = parse("upstream app {\n  server 10.0.0.1:13000 weight=2;\n}\n\nserver {\n listen 80;\n"
                         " location / { proxy_pass http://app; }\n}\n");
    ASSERT_FALSE(r.error);
    ASSERT_EQ(r.directives.size(), 2u);
    const auto& up = r.directives[0];
    EXPECT_EQ(up.name, "upstream");
    EXPECT_TRUE(up.has_block);
    ASSERT_EQ(up.block.size(), 1u);
    EXPECT_EQ(up.block[0].args, (std::vector<std::string>{"10.0.0.1:13000", "weight=2"}));
    EXPECT_EQ(up.block[0].line, 2u);
    const auto& location = r.directives[1].block[1];
    EXPECT_EQ(location.line, 7u);
    EXPECT_EQ(location.block[0].text(), "proxy_pass http://app");
}

// Quotes group words and are removed; comments are skipped, also after a directive; ${var} stays one word.
TEST(NginxParse, QuotesCommentsAndVariables) {
    const auto r = parse("# comment\nadd_header Cache-Control 'no-cache, no-store'; # trailing\n"
                         "proxy_set_header Connection \"Upgrade\";\nreturn 302 ${scheme}://x/;\n");
    ASSERT_FALSE(r.error) << r.error->message;
    ASSERT_EQ(r.directives.size(), 3u);
    EXPECT_EQ(r.directives[0].args[1], "no-cache, no-store");
    EXPECT_EQ(r.directives[0].line, 2u);
    EXPECT_EQ(r.directives[0].text(), "add_header Cache-Control 'no-cache, no-store'");
    EXPECT_EQ(r.directives[1].args[1], "Upgrade");
    EXPECT_EQ(r.directives[2].args[1], "${scheme}://x/");
    EXPECT_EQ(r.directives[2].line, 4u);
}

// Each syntax error names its line and returns nothing.
TEST(NginxParse, ReportsErrorsWithTheirLine) {
    const auto missing_semicolon = parse("listen 80;\nserver_name a\n}");
    ASSERT_TRUE(missing_semicolon.error);
    EXPECT_EQ(missing_semicolon.error->line, 3u);
    EXPECT_TRUE(missing_semicolon.directives.empty());

    const auto unclosed = parse("server {\n listen 80;\n");
    ASSERT_TRUE(unclosed.error);
    EXPECT_NE(unclosed.error->message.find("'}' is missing"), std::string::npos);

    const auto stray = parse("listen 80;\n}\n");
    ASSERT_TRUE(stray.error);
    EXPECT_EQ(stray.error->line, 2u);

    const auto quote = parse("listen 80;\nadd_header X 'open;\n");
    ASSERT_TRUE(quote.error);
    EXPECT_EQ(quote.error->line, 2u);
    EXPECT_NE(quote.error->message.find("unterminated"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::nginx
