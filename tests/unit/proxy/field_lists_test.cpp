// field_lists: trimming, list elements, and first_value agreeing with Beast's own lookup by name.
#include <gatehouse/proxy/field_lists.hpp>

#include <boost/beast/http/message.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace http = boost::beast::http;
using gatehouse::proxy::first_value;
using gatehouse::proxy::for_each_list_element;
using gatehouse::proxy::trim_ows;

TEST(FieldLists, TrimAndElements) {
    EXPECT_EQ(trim_ows(" \tgzip \t"), "gzip");
    std::vector<std::string> seen;
    EXPECT_TRUE(for_each_list_element(" a, ,b ,\tc,", [&](std::string_view e) {
        seen.emplace_back(e);
        return true;
    }));
    EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_FALSE(for_each_list_element("a,b", [](std::string_view e) { return e != "a"; }));
}

TEST(FieldLists, FirstValueIsWhatBeastsLookupReturns) {
    http::request_header<> head;
    head.insert("x-custom", "one");
    head.insert("HOST", "example.test");  // a name in any case is the known field
    head.insert(http::field::cookie, "a=1");
    head.insert(http::field::cookie, "b=2");
    for (const auto name : {http::field::host, http::field::cookie, http::field::accept, http::field::expect})
        EXPECT_EQ(first_value(head, name), head[name]) << http::to_string(name);
    EXPECT_EQ(first_value(head, http::field::host), "example.test");
    EXPECT_EQ(first_value(head, http::field::cookie), "a=1");
    EXPECT_EQ(first_value(head, http::field::accept), "");
}
