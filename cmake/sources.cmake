# The network layer and the executable (the pure layer is declared in the top-level CMakeLists.txt).
if(GATEHOUSE_READ_DRAIN)
  set(GATEHOUSE_READ_DRAIN_SOURCE src/proxy/read_drain.cpp)
else()
  set(GATEHOUSE_READ_DRAIN_SOURCE src/proxy/read_drain_off.cpp)  # no access to Asio's internals at all
endif()
add_library(gatehouse_net STATIC
  src/log/event_log.cpp
  src/log/access_log.cpp
  src/log/escaped.cpp
  src/log/access_log_sink.cpp
  src/metrics/exposition.cpp
  src/model/snapshot.cpp
  src/tls/certificate.cpp
  src/tls/server_tls.cpp
  src/tls/ocsp_staple.cpp
  src/net/endpoints.cpp
  src/net/node_tls.cpp
  src/proxy/head_scan.cpp
  src/proxy/request_checks.cpp
  src/proxy/forward_headers.cpp
  src/proxy/compression_policy.cpp
  src/proxy/gzip_encoder.cpp
  src/proxy/https_redirect.cpp
  src/proxy/websocket_upgrade.cpp
  src/proxy/client_address.cpp
  src/proxy/error_response.cpp
  src/proxy/unavailable_response.cpp
  src/proxy/node_availability.cpp
  ${GATEHOUSE_READ_DRAIN_SOURCE}
  src/proxy/read_drain_check.cpp
  src/proxy/node_reuse.cpp
  src/proxy/failure.cpp
  src/proxy/head_reader.cpp
  src/proxy/request_body_buffer.cpp
  src/health/http_probe.cpp
  src/health/health_checker.cpp
  src/proxy/tls_stream.cpp
  src/proxy/client_session.cpp
  src/proxy/session/session_loop.cpp
  src/proxy/session/parking.cpp
  src/proxy/session/request_steps.cpp
  src/proxy/session/node_choice.cpp
  src/proxy/session/node_attempt.cpp
  src/proxy/session/response_head.cpp
  src/proxy/session/relay_response.cpp
  src/proxy/session/compressed_response.cpp
  src/proxy/session/tunnel.cpp
  src/proxy/session/request_buffering.cpp
  src/proxy/session/answers.cpp
  src/proxy/session/tls_handshake.cpp
  src/upstream/connection_pool.cpp
  src/upstream/pool_sizing.cpp
  src/upstream/node_stream.cpp
  src/server/client_limiter.cpp
  src/server/worker.cpp
  src/server/worker_link.cpp
  src/server/memory_release.cpp
  src/server/server.cpp
  src/server/fd_limit.cpp
  src/server/systemd_notify.cpp
  src/control/operator_state.cpp
  src/control/controller.cpp
  src/control/controller_views.cpp
  src/control/controller_cluster.cpp
  src/control/cluster_sync.cpp
  src/control/cluster_record.cpp
  src/control/controller_dns.cpp
  src/discovery/resolver.cpp
  src/discovery/dns_watch.cpp
  src/cluster/redis_link.cpp
  src/admin/admin_api.cpp
  src/admin/admin_server.cpp
  src/admin/admin_client.cpp
  src/admin/admin_target.cpp
  src/admin/status_page.cpp
  src/demo/demo_upstream.cpp
)
target_compile_options(gatehouse_net PRIVATE ${GATEHOUSE_WARNINGS})
# libsystemd (Debian's libsystemd-dev): sd_notify readiness and the watchdog (server/systemd_notify).
find_package(PkgConfig REQUIRED)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
target_link_libraries(gatehouse_net PUBLIC gatehouse_core gatehouse_asio Boost::json ZLIB::ZLIB OpenSSL::SSL PRIVATE prometheus-cpp::core PkgConfig::SYSTEMD)
# hiredis (Debian's libhiredis-dev): [cluster]'s link to Redis, on a thread of its own (src/cluster/redis_link.cpp).
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
target_link_libraries(gatehouse_net PRIVATE PkgConfig::HIREDIS)
# c-ares (Debian's libc-ares-dev): lookups of [[upstream.dns]] names and static nodes' host names on the control
# thread's io_context (src/discovery/resolver.cpp).
pkg_check_modules(CARES REQUIRED IMPORTED_TARGET libcares)
target_link_libraries(gatehouse_net PRIVATE PkgConfig::CARES)
target_compile_definitions(gatehouse_net PUBLIC GATEHOUSE_VERSION="${PROJECT_VERSION}")
target_precompile_headers(gatehouse_net PRIVATE
  <boost/asio.hpp> <boost/beast/core.hpp> <boost/beast/http.hpp>)
include(${CMAKE_CURRENT_LIST_DIR}/status_page.cmake)

add_executable(gatehouse src/main.cpp src/cli/admin_commands.cpp src/cli/import_nginx.cpp)
target_include_directories(gatehouse PRIVATE src)
target_compile_options(gatehouse PRIVATE ${GATEHOUSE_WARNINGS})
target_link_libraries(gatehouse PRIVATE gatehouse_net CLI11::CLI11)

# tcmalloc (gperftools' tcmalloc_minimal, Debian's libgoogle-perftools-dev; Envoy links tcmalloc too). Every
# proxied request allocates a few coroutine frames of 1-2 KiB, above glibc's per-thread cache (1,032 B), so each
# took glibc's slow path (bin search, chunk merging): a fifth of gatehouse's own instructions went to malloc and
# free. tcmalloc's thread caches serve those sizes: about 15 % fewer instructions per request; an idle connection
# costs about the same (README, Benchmarks). Sanitizer and fuzzing builds keep their own allocator.
option(GATEHOUSE_TCMALLOC "Link the gatehouse binary with tcmalloc_minimal" ON)
if(GATEHOUSE_TCMALLOC AND GATEHOUSE_SANITIZE STREQUAL "" AND NOT GATEHOUSE_FUZZ)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(TCMALLOC REQUIRED IMPORTED_TARGET libtcmalloc_minimal)
  # Nothing refers to tcmalloc by name (it replaces malloc), so keep the linker from dropping it as unneeded.
  target_link_libraries(gatehouse PRIVATE "-Wl,--push-state,--no-as-needed" PkgConfig::TCMALLOC "-Wl,--pop-state")
endif()
