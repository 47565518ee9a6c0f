// The operator state's rules: a node's admin state, and forgetting nodes a reload removed.
#include <gatehouse/model/operator_state.hpp>

#include <algorithm>

namespace gatehouse::model {

const char* to_string(node_admin a) noexcept {
    switch (a) {
    case node_admin::active: return "active";
    case node_admin::draining: return "draining";
    case node_admin::disabled: return "disabled";
    }
    return "active";
}

node_admin operator_state::admin_of(std::string_view node) const {
    const auto it = nodes.find(std::string(node));
    return it == nodes.end() ? node_admin::active : it->second;
}

std::vector<std::string> operator_state::keep_only(const std::vector<std::string>& names,
                                                   const std::vector<std::string>& waiting) {
    std::vector<std::string> dropped;
    const auto known = [&](const std::string& n) {
        if (std::find(names.begin(), names.end(), n) != names.end()) return true;
        return std::any_of(waiting.begin(), waiting.end(), [&](const std::string& w) {
            return n.size() > w.size() + 1 && n.starts_with(w) && n[w.size()] == '@';
        });
    };
    for (auto it = nodes.begin(); it != nodes.end();) {
        if (known(it->first)) {
            ++it;
        } else {
            dropped.push_back("node " + it->first + " (" + to_string(it->second) + ")");
            it = nodes.erase(it);
        }
    }
    if (!pinned_node.empty() && !known(pinned_node)) {
        dropped.push_back("pin to " + pinned_node);
        pinned_node.clear();
    }
    if (!maintenance.verify_node.empty() && !known(maintenance.verify_node)) {
        dropped.push_back("verify_node " + maintenance.verify_node);
        maintenance.verify_node.clear();
    }
    return dropped;
}

}  // namespace gatehouse::model
