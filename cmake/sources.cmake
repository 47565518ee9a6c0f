# The network layer and the executable (the pure layer is declared in the top-level CMakeLists.txt).
add_library(gatehouse_net STATIC
  src/log/event_log.cpp
  src/log/access_log.cpp
  src/metrics/exposition.cpp
  src/model/snapshot.cpp
  src/proxy/head_scan.cpp
  src/proxy/request_checks.cpp
  src/proxy/forward_headers.cpp
  src/proxy/error_response.cpp
  src/proxy/unavailable_response.cpp
  src/proxy/node_availability.cpp
  src/proxy/read_drain.cpp
  src/health/http_probe.cpp
  src/health/health_checker.cpp
  src/proxy/client_session.cpp
  src/upstream/connection_pool.cpp
  src/server/worker.cpp
  src/server/server.cpp
  src/control/operator_state.cpp
  src/control/controller.cpp
  src/control/controller_views.cpp
  src/admin/admin_api.cpp
  src/admin/admin_server.cpp
  src/admin/admin_client.cpp
  src/admin/status_page.cpp
  src/demo/demo_upstream.cpp
)
target_compile_options(gatehouse_net PRIVATE ${GATEHOUSE_WARNINGS})
target_link_libraries(gatehouse_net PUBLIC gatehouse_core gatehouse_asio Boost::json PRIVATE prometheus-cpp::core)
target_compile_definitions(gatehouse_net PUBLIC GATEHOUSE_VERSION="${PROJECT_VERSION}")
target_precompile_headers(gatehouse_net PRIVATE
  <boost/asio.hpp> <boost/beast/core.hpp> <boost/beast/http.hpp>)
include(${CMAKE_CURRENT_LIST_DIR}/status_page.cmake)

add_executable(gatehouse src/main.cpp src/cli/admin_commands.cpp)
target_include_directories(gatehouse PRIVATE src)
target_compile_options(gatehouse PRIVATE ${GATEHOUSE_WARNINGS})
target_link_libraries(gatehouse PRIVATE gatehouse_net CLI11::CLI11)
