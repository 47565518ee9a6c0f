# The admin status page: src/admin/status_page.html is embedded into gatehouse_net at build time as
# <build>/generated/gatehouse/status_page_html.inc, which src/admin/status_page.cpp includes.
set(GATEHOUSE_STATUS_PAGE_SOURCE ${PROJECT_SOURCE_DIR}/src/admin/status_page.html)
set(GATEHOUSE_STATUS_PAGE_INC ${PROJECT_BINARY_DIR}/generated/gatehouse/status_page_html.inc)
add_custom_command(
  OUTPUT ${GATEHOUSE_STATUS_PAGE_INC}
  COMMAND ${CMAKE_COMMAND} -DINPUT=${GATEHOUSE_STATUS_PAGE_SOURCE} -DOUTPUT=${GATEHOUSE_STATUS_PAGE_INC}
          -P ${PROJECT_SOURCE_DIR}/cmake/embed_text.cmake
  DEPENDS ${GATEHOUSE_STATUS_PAGE_SOURCE} ${PROJECT_SOURCE_DIR}/cmake/embed_text.cmake
  COMMENT "Embedding src/admin/status_page.html"
  VERBATIM)
# Listing the generated file as a source makes it exist before gatehouse_net compiles; the compiler's
# dependency file then rebuilds status_page.cpp whenever it changes.
target_sources(gatehouse_net PRIVATE ${GATEHOUSE_STATUS_PAGE_INC})
set_source_files_properties(${GATEHOUSE_STATUS_PAGE_INC} PROPERTIES HEADER_FILE_ONLY ON)
# Only the file that includes it gets the include directory (the rest of gatehouse_net compiles unchanged).
set_source_files_properties(${PROJECT_SOURCE_DIR}/src/admin/status_page.cpp PROPERTIES
  INCLUDE_DIRECTORIES ${PROJECT_BINARY_DIR}/generated)
