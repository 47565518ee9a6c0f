// The status page's HTML (to be replaced by the full page).
#include <gatehouse/admin/status_page.hpp>

namespace gatehouse::admin {

std::string_view status_page_html() noexcept {
    return "<!doctype html><html><head><meta charset=\"utf-8\"><title>gatehouse</title></head>"
           "<body><h1>gatehouse</h1><p>See <a href=\"/api/status\">/api/status</a>.</p></body></html>\n";
}

}  // namespace gatehouse::admin
