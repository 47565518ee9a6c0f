// compression_policy: Accept-Encoding q-values, every reason an answer is not compressed, Vary, and the weak ETag.
#include <gatehouse/proxy/compression_policy.hpp>

#include <gtest/gtest.h>

using namespace gatehouse;
using namespace gatehouse::proxy;

namespace {

compression_facts json_answer() {
    compression_facts f;
    f.status = 200;
    f.accept_encoding = "gzip, deflate, br";
    f.content_type = "application/json; charset=utf-8";
    f.content_length = 4096;
    return f;
}

compression_verdict verdict(const compression_facts& f, const config::compression_config& cfg = {}) {
    return decide_compression(f, cfg).verdict;
}

}  // namespace

TEST(AcceptEncoding, GzipNamedOrByWildcard) {
    EXPECT_EQ(gzip_quality("gzip"), 1000u);
    EXPECT_EQ(gzip_quality("GZIP"), 1000u);
    EXPECT_EQ(gzip_quality("x-gzip"), 1000u);
    EXPECT_EQ(gzip_quality("deflate, gzip;q=0.5, br"), 500u);
    EXPECT_EQ(gzip_quality("br;q=1.0, *;q=0.1"), 100u);
    EXPECT_EQ(gzip_quality(" gzip ; q=0.25 "), 250u);
    EXPECT_EQ(gzip_quality("gzip;q=1"), 1000u);
    EXPECT_EQ(gzip_quality("gzip;q=1.000"), 1000u);
    EXPECT_EQ(gzip_quality("gzip;level=1;q=0.3"), 300u);
}

TEST(AcceptEncoding, AbsentOrRefused) {
    EXPECT_EQ(gzip_quality(""), 0u);
    EXPECT_EQ(gzip_quality("identity"), 0u);
    EXPECT_EQ(gzip_quality("br, deflate"), 0u);
    EXPECT_EQ(gzip_quality("gzip;q=0"), 0u);
    EXPECT_EQ(gzip_quality("gzip;q=0.000"), 0u);
    EXPECT_EQ(gzip_quality("gzip;q=0, *"), 0u) << "gzip named with q=0 wins over the wildcard";
    EXPECT_EQ(gzip_quality("*;q=0"), 0u);
    EXPECT_EQ(gzip_quality("gzipped, xgzip"), 0u);
}

TEST(AcceptEncoding, MalformedQRefusesTheEntry) {
    for (const char* text : {"gzip;q=abc", "gzip;q=1.5", "gzip;q=2", "gzip;q=0.1234", "gzip;q=", "gzip;q=.5"})
        EXPECT_EQ(gzip_quality(text), 0u) << text;
}

TEST(CompressionPolicy, CompressesJsonAboveMinLengthForAGzipClient) {
    const auto d = decide_compression(json_answer(), {});
    EXPECT_TRUE(d.compress());
    EXPECT_TRUE(d.vary);
}

TEST(CompressionPolicy, UnknownLengthIsCompressed) {
    auto f = json_answer();
    f.content_length.reset();
    EXPECT_EQ(verdict(f), compression_verdict::compress);
}

TEST(CompressionPolicy, EveryRefusalReason) {
    config::compression_config off;
    off.enabled = false;
    EXPECT_EQ(verdict(json_answer(), off), compression_verdict::disabled);
    for (unsigned status : {100u, 101u, 204u, 304u}) {
        auto f = json_answer();
        f.status = status;
        EXPECT_EQ(verdict(f), compression_verdict::no_body) << status;
    }
    auto f = json_answer();
    f.status = 206;
    EXPECT_EQ(verdict(f), compression_verdict::partial);
    f = json_answer();
    f.content_range = true;
    EXPECT_EQ(verdict(f), compression_verdict::partial);
    f = json_answer();
    f.content_encoding = "br";
    EXPECT_EQ(verdict(f), compression_verdict::already_encoded);
    f = json_answer();
    f.content_type = "text/event-stream";
    EXPECT_EQ(verdict(f), compression_verdict::event_stream);
    f = json_answer();
    f.content_type = "image/png";
    EXPECT_EQ(verdict(f), compression_verdict::type_not_listed);
    f = json_answer();
    f.content_type = "";
    EXPECT_EQ(verdict(f), compression_verdict::type_not_listed);
    f = json_answer();
    f.cache_control = "public, No-Transform, max-age=60";
    EXPECT_EQ(verdict(f), compression_verdict::no_transform);
    f = json_answer();
    f.content_length = 1023;
    EXPECT_EQ(verdict(f), compression_verdict::too_small);
    f = json_answer();
    f.accept_encoding = "gzip;q=0";
    EXPECT_EQ(verdict(f), compression_verdict::client_refuses);
    f = json_answer();
    f.accept_encoding = "";
    EXPECT_EQ(verdict(f), compression_verdict::client_refuses);
}

TEST(CompressionPolicy, EmptyBodyIsNeverCompressedEvenWithMinLengthZero) {
    config::compression_config cfg;
    cfg.min_length = 0;
    auto f = json_answer();
    f.content_length = 0;
    EXPECT_EQ(verdict(f, cfg), compression_verdict::too_small);
    f.content_length = 1;
    EXPECT_EQ(verdict(f, cfg), compression_verdict::compress);
}

TEST(CompressionPolicy, IdentityContentEncodingIsNotAnEncoding) {
    auto f = json_answer();
    f.content_encoding = "identity";
    EXPECT_EQ(verdict(f), compression_verdict::compress);
}

TEST(CompressionPolicy, VaryOnlyWhenTheAnswerDependsOnAcceptEncoding) {
    auto f = json_answer();
    f.accept_encoding = "";
    EXPECT_TRUE(decide_compression(f, {}).vary) << "an identity answer of a compressible type varies too";
    f = json_answer();
    f.content_length = 10;
    EXPECT_FALSE(decide_compression(f, {}).vary);
    f = json_answer();
    f.content_type = "image/png";
    EXPECT_FALSE(decide_compression(f, {}).vary);
}

TEST(CompressionPolicy, TypesMatchExactlyOrByTopLevelWildcard) {
    const std::vector<std::string> types{"text/*", "application/json", "image/svg+xml"};
    EXPECT_TRUE(compressible_type("text/html; charset=utf-8", types));
    EXPECT_TRUE(compressible_type("TEXT/CSS", types));
    EXPECT_TRUE(compressible_type("Application/JSON;charset=utf-8", types));
    EXPECT_TRUE(compressible_type(" image/svg+xml ", types));
    EXPECT_FALSE(compressible_type("application/jsonx", types));
    EXPECT_FALSE(compressible_type("texts/html", types));
    EXPECT_FALSE(compressible_type("text/", types));
    EXPECT_FALSE(compressible_type("application/octet-stream", types));
}

TEST(CompressionPolicy, BeastHeadsGiveTheSameFacts) {
    http::request_header<> request;
    request.set(http::field::accept_encoding, "br");
    request.insert(http::field::accept_encoding, "gzip;q=0.8");  // a second line joins the first
    http::response_header<> response;
    response.result(http::status::ok);
    response.set(http::field::content_type, "application/json");
    response.set(http::field::content_length, "5000");
    EXPECT_TRUE(decide_compression(request, response, {}).compress());
    response.insert(http::field::cache_control, "max-age=60");
    response.insert(http::field::cache_control, "no-transform");
    EXPECT_EQ(decide_compression(request, response, {}).verdict, compression_verdict::no_transform);
    response.erase(http::field::cache_control);
    response.set(http::field::content_length, "100");
    EXPECT_EQ(decide_compression(request, response, {}).verdict, compression_verdict::too_small);
    response.erase(http::field::content_length);
    response.set(http::field::transfer_encoding, "chunked");
    EXPECT_TRUE(decide_compression(request, response, {}).compress()) << "unknown length";
}

TEST(CompressionPolicy, BeastHeadsClientRefusalAndFirstLinesCount) {
    http::request_header<> request;
    http::response_header<> response;
    response.result(http::status::ok);
    response.insert(http::field::content_type, "application/json");
    response.insert(http::field::content_type, "image/png");  // the first line decides, as fields[name] returns it
    response.set(http::field::content_length, "5000");
    const auto no_header = decide_compression(request, response, {});
    EXPECT_EQ(no_header.verdict, compression_verdict::client_refuses);
    EXPECT_TRUE(no_header.vary) << "the answer depended on Accept-Encoding";
    request.set(http::field::accept_encoding, "gzip;q=0");
    EXPECT_EQ(decide_compression(request, response, {}).verdict, compression_verdict::client_refuses);
    request.set(http::field::accept_encoding, "gzip");
    EXPECT_TRUE(decide_compression(request, response, {}).compress());
    response.insert(http::field::content_encoding, "identity");
    response.insert(http::field::content_encoding, "gzip");
    EXPECT_TRUE(decide_compression(request, response, {}).compress()) << "the first Content-Encoding line counts";
    response.set(http::field::content_range, "bytes 0-9/5000");
    EXPECT_EQ(decide_compression(request, response, {}).verdict, compression_verdict::partial);
}

TEST(CompressionHeaders, VaryCoverage) {
    EXPECT_TRUE(vary_covers_accept_encoding("Accept-Encoding"));
    EXPECT_TRUE(vary_covers_accept_encoding("Origin, accept-encoding"));
    EXPECT_TRUE(vary_covers_accept_encoding("*"));
    EXPECT_FALSE(vary_covers_accept_encoding("Origin"));
    EXPECT_FALSE(vary_covers_accept_encoding("Accept-Encoding-X"));
}

TEST(CompressionHeaders, StrongETagBecomesWeak) {
    EXPECT_EQ(weak_etag("\"abc\""), "W/\"abc\"");
    EXPECT_EQ(weak_etag("W/\"abc\""), "W/\"abc\"");
    EXPECT_EQ(weak_etag(""), "");
}
