// The status page's HTML: src/admin/status_page.html, embedded at build time (cmake/status_page.cmake).
#include <gatehouse/admin/status_page.hpp>

namespace gatehouse::admin {

std::string_view status_page_html() noexcept {
    static constexpr std::string_view page =
#include "gatehouse/status_page_html.inc"
        ;
    return page;
}

}  // namespace gatehouse::admin
