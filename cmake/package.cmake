# Installation layout and the Debian package (cpack -G DEB in the build directory; README, Deploying).
# /usr/bin/gatehouse, /etc/gatehouse/{gatehouse.toml,maintenance.html} (conffiles), the systemd unit, logrotate,
# the README; the maintainer scripts (deploy/debian/) create the gatehouse user, /var/lib/gatehouse and the token
# environment file.
if(NOT TARGET gatehouse)
  return()
endif()

# The unit as packaged: the binary in /usr/bin, the README under /usr/share/doc.
file(READ ${PROJECT_SOURCE_DIR}/deploy/gatehouse.service GATEHOUSE_UNIT)
string(REPLACE "/usr/local/bin/gatehouse" "/usr/bin/gatehouse" GATEHOUSE_UNIT "${GATEHOUSE_UNIT}")
string(REPLACE "/usr/local/share/doc/" "/usr/share/doc/" GATEHOUSE_UNIT "${GATEHOUSE_UNIT}")
file(WRITE ${PROJECT_BINARY_DIR}/package/gatehouse.service "${GATEHOUSE_UNIT}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/deploy/gatehouse.service)

install(TARGETS gatehouse RUNTIME DESTINATION bin)
install(FILES conf/gatehouse.toml conf/maintenance.html DESTINATION /etc/gatehouse)
install(FILES ${PROJECT_BINARY_DIR}/package/gatehouse.service DESTINATION /lib/systemd/system)
install(FILES deploy/logrotate/gatehouse DESTINATION /etc/logrotate.d)
install(FILES README.md DESTINATION share/doc/gatehouse)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME gatehouse)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "gatehouse maintainers <gatehouse@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Layer-7 load balancer for NocoBase clusters")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "logrotate")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles
  ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
  ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
  ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
include(CPack)
