// The operator state as replicas share it in Redis: the state, who wrote it and when (last write wins).
#pragma once

#include <gatehouse/control/operator_state.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::control {

/// Who made a change and when; orders changes across replicas.
struct write_stamp {
    std::string writer;              ///< [cluster] name of the replica the change was made on ("" = never written)
    std::int64_t written_unix_ms = 0;
    bool operator==(const write_stamp&) const = default;
};

/// True when `a` is a later write than `b`: a later time, or at the same millisecond the greater writer name (so
/// every replica picks the same winner).
bool later(const write_stamp& a, const write_stamp& b) noexcept;

struct cluster_record {
    operator_state state;
    write_stamp stamp;
};

/// {"writer":..,"written_unix_ms":..,"state":{...to_json...}}: the Redis key's value and each published message.
std::string encode(const cluster_record& record);

/// Parses what encode wrote; nullopt with `error` set when the text is not such a record.
std::optional<cluster_record> decode_record(std::string_view text, std::string& error);

/// The Lua script that stores a record only when it is later than the key's (KEYS[1]) and then publishes it on
/// KEYS[2]; it returns the record the key holds afterwards (the winner), so a writer that lost learns the newer one.
extern const char* const store_if_later_script;

}  // namespace gatehouse::control
