// The live status page served at GET / on the admin listener: one self-contained HTML document.
#pragma once

#include <string_view>

namespace gatehouse::admin {

/// The page (HTML, inline CSS and JavaScript, no external assets). It reads /api/status with the token the
/// operator types in, and toggles maintenance through PUT/DELETE /api/maintenance.
std::string_view status_page_html() noexcept;

}  // namespace gatehouse::admin
