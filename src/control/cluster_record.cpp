// The shared operator state's record: encoding, decoding and the last-write-wins order (Redis's side in Lua).
#include <gatehouse/control/cluster_record.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <stdexcept>

namespace gatehouse::control {
namespace json = boost::json;

bool later(const write_stamp& a, const write_stamp& b) noexcept {
    if (a.written_unix_ms != b.written_unix_ms) return a.written_unix_ms > b.written_unix_ms;
    return a.writer > b.writer;
}

std::string encode(const cluster_record& record) {
    json::object out{{"writer", record.stamp.writer},
                     {"written_unix_ms", record.stamp.written_unix_ms},
                     {"state", json::parse(to_json(record.state))}};
    return json::serialize(out);
}

std::optional<cluster_record> decode_record(std::string_view text, std::string& error) {
    json::error_code ec;
    const json::value root = json::parse(text, ec);
    if (ec || !root.is_object()) {
        error = "not a JSON object";
        return std::nullopt;
    }
    const auto& top = root.get_object();
    const auto* writer = top.if_contains("writer");
    const auto* at = top.if_contains("written_unix_ms");
    const auto* state = top.if_contains("state");
    if (!writer || !writer->is_string() || !at || !(at->is_int64() || at->is_uint64()) || !state ||
        !state->is_object()) {
        error = "needs \"writer\" (a string), \"written_unix_ms\" (an integer) and \"state\" (an object)";
        return std::nullopt;
    }
    cluster_record r;
    r.stamp.writer = std::string(writer->get_string());
    r.stamp.written_unix_ms = at->to_number<std::int64_t>();
    try {
        r.state = operator_state_from_json(json::serialize(*state));
    } catch (const std::runtime_error& e) {
        error = std::string("state: ") + e.what();
        return std::nullopt;
    }
    return r;
}

// The same order as later(): time, then writer name. A key that is not a record loses to any record.
const char* const store_if_later_script = R"lua(
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, c = pcall(cjson.decode, cur)
  if ok and type(c) == 'table' then
    local n = cjson.decode(ARGV[1])
    local ct, nt = tonumber(c.written_unix_ms) or 0, tonumber(n.written_unix_ms) or 0
    local cw, nw = tostring(c.writer), tostring(n.writer)
    if ct > nt or (ct == nt and cw >= nw) then return cur end
  end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', KEYS[2], ARGV[1])
return ARGV[1]
)lua";

}  // namespace gatehouse::control
