# Ward's install rules and Debian packages (CPack DEB, one package per component).
#
#   ward-agent            wardd, wardctl, wardd.service, /etc/ward/ward.conf (conffile),
#                         tmpfiles.d (/run/ward, /var/lib/ward), group "ward" (postinst),
#                         wardd(8), wardctl(8), ward.conf(5)
#   ward-directory-tools  ward-dir, ward-policy-ldif, ward-bootstrap-directory, the OpenLDAP
#                         schema and the examples under /usr/share/ward, ward-dir(8)
#   ward-editor           ward-editor (Qt 6) and its .desktop file
# Each has /usr/share/doc/<package>/copyright (Apache-2.0) and changelog.Debian.gz.
#
# Build them with scripts/package (or `cmake --build --preset default --target ward-packages`).
# Included from the top-level CMakeLists.txt after every component, so that install(TARGETS)
# sees targets made in other directories. Packages are laid out for Debian 12: programs in
# /usr/bin and /usr/sbin, the unit in /lib/systemd/system, configuration in /etc/ward.
#
# `cpack` does not build anything here: the install-time "build all" dependency is off
# (CMAKE_SKIP_INSTALL_ALL_DEPENDENCY), so packaging reuses the binaries already in the build tree
# and the ward-packages target builds just the packaged programs first.

set(WARD_PACKAGED_TARGETS wardd wardctl ward-dir ward-policy-ldif ward-editor)
foreach(target IN LISTS WARD_PACKAGED_TARGETS)
  if(NOT TARGET ${target})
    message(STATUS "Packaging: target ${target} does not exist; Debian packages are not configured")
    return()
  endif()
endforeach()

set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(WARD_PACKAGE_MAINTAINER "Ward developers <ward-dev@example.invalid>"
    CACHE STRING "Maintainer field of Ward's Debian packages")

# Absolute destinations (/etc, /lib/systemd) are staged under DESTDIR by cpack (CPACK_SET_DESTDIR).
set(ward_etc /etc/ward)
set(ward_unit_dir /lib/systemd/system)
set(ward_share share/ward)
set(ward_installer ${PROJECT_SOURCE_DIR}/installer)

# ward_install_program(TARGET DESTINATION COMPONENT) — installs a program built in another
# directory as a plain file (no install(TARGETS) RPATH rewrite: the link-time RUNPATH into
# krb5's private multidev folder has a form CMake's rewrite rejects), then drops its RUNPATH
# (every library it needs is in the default search path) and strips it when cpack strips.
function(ward_install_program target destination component)
  install(PROGRAMS $<TARGET_FILE:${target}> DESTINATION ${destination} COMPONENT ${component})
  install(CODE "
    set(installed \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${destination}/$<TARGET_FILE_NAME:${target}>\")
    file(RPATH_REMOVE FILE \"\${installed}\")
    if(CMAKE_INSTALL_DO_STRIP)
      execute_process(COMMAND \"${CMAKE_STRIP}\" \"\${installed}\" RESULT_VARIABLE stripped)
      if(NOT stripped EQUAL 0)
        message(FATAL_ERROR \"strip \${installed} failed: \${stripped}\")
      endif()
    endif()" COMPONENT ${component})
endfunction()

# --- ward-agent -----------------------------------------------------------------------------------
ward_install_program(wardd sbin agent)
ward_install_program(wardctl bin agent)
install(FILES ${ward_installer}/systemd/wardd.service DESTINATION ${ward_unit_dir}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/agent/config/ward.conf.example DESTINATION ${ward_etc} RENAME ward.conf
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ COMPONENT agent)
install(FILES ${ward_installer}/tmpfiles/ward.conf DESTINATION lib/tmpfiles.d
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/ward COMPONENT agent)

# --- ward-directory-tools -------------------------------------------------------------------------
ward_install_program(ward-dir bin dirtools)
ward_install_program(ward-policy-ldif bin dirtools)
install(PROGRAMS ${ward_installer}/bootstrap-directory DESTINATION sbin RENAME ward-bootstrap-directory
        COMPONENT dirtools)
install(FILES ${PROJECT_SOURCE_DIR}/schemas/openldap/ward-ad-ipsec.ldif DESTINATION ${ward_share}/schema
        COMPONENT dirtools)
install(FILES ${PROJECT_SOURCE_DIR}/schemas/examples/legal.ldif
              ${PROJECT_SOURCE_DIR}/schemas/examples/legal-policy.json
              ${PROJECT_SOURCE_DIR}/schemas/examples/domain-policy.json
        DESTINATION ${ward_share}/examples COMPONENT dirtools)

# --- ward-editor ----------------------------------------------------------------------------------
ward_install_program(ward-editor bin editor)
install(FILES ${ward_installer}/desktop/ward-editor.desktop DESTINATION share/applications COMPONENT editor)

# --- Debian changelogs (/usr/share/doc/<package>/changelog.Debian.gz, gzip -9n) -------------------
# One entry per version; the date is the configure time (or SOURCE_DATE_EPOCH when set).
string(TIMESTAMP ward_changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(ward_changelog_text "ward (${PROJECT_VERSION}-1) unstable; urgency=medium

  * Built from the Ward source tree by CPack (cmake/Packaging.cmake).

 -- ${WARD_PACKAGE_MAINTAINER}  ${ward_changelog_date}
")
file(WRITE ${CMAKE_BINARY_DIR}/packaging/changelog.Debian "${ward_changelog_text}")
execute_process(COMMAND gzip -9nc ${CMAKE_BINARY_DIR}/packaging/changelog.Debian
                OUTPUT_FILE ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz
                RESULT_VARIABLE ward_gzip_result)
if(NOT ward_gzip_result EQUAL 0)
  message(FATAL_ERROR "gzip of ${CMAKE_BINARY_DIR}/packaging/changelog.Debian failed: ${ward_gzip_result}")
endif()
foreach(pair agent:ward-agent dirtools:ward-directory-tools editor:ward-editor)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 component)
  list(GET pair 1 package)
  install(FILES ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz DESTINATION share/doc/${package}
          COMPONENT ${component})
endforeach()

# --- copyright (/usr/share/doc/<package>/copyright, Debian's machine-readable format) ------------
foreach(pair agent:ward-agent dirtools:ward-directory-tools editor:ward-editor)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 component)
  list(GET pair 1 package)
  install(FILES ${ward_installer}/debian/copyright DESTINATION share/doc/${package}
          PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ COMPONENT ${component})
endforeach()

# --- man pages (installer/man, gzip -9n as Debian policy wants) ----------------------------------
foreach(page wardd.8:agent wardctl.8:agent ward.conf.5:agent ward-dir.8:dirtools)
  string(REPLACE ":" ";" page "${page}")
  list(GET page 0 file)
  list(GET page 1 component)
  string(REGEX MATCH "[0-9]$" section "${file}")
  execute_process(COMMAND gzip -9nc ${ward_installer}/man/${file}
                  OUTPUT_FILE ${CMAKE_BINARY_DIR}/packaging/${file}.gz RESULT_VARIABLE ward_gzip_result)
  if(NOT ward_gzip_result EQUAL 0)
    message(FATAL_ERROR "gzip of ${ward_installer}/man/${file} failed: ${ward_gzip_result}")
  endif()
  install(FILES ${CMAKE_BINARY_DIR}/packaging/${file}.gz DESTINATION share/man/man${section}
          PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ COMPONENT ${component})
endforeach()
# A page edited after configure is packaged again at the next configure.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${ward_installer}/man/wardd.8 ${ward_installer}/man/wardctl.8 ${ward_installer}/man/ward.conf.5
             ${ward_installer}/man/ward-dir.8)

# --- CPack ----------------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ward)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${WARD_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_VENDOR "Ward")
# CPackDeb puts CPACK_PACKAGE_DESCRIPTION_SUMMARY above every component's description unless it
# is CPack's default text; left at that default, each package's first description line (below)
# is its own summary.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL agent dirtools editor)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.invalid/ward")
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME ward-agent)
set(CPACK_DEBIAN_AGENT_PACKAGE_SECTION net)
# The kernel table goes over netlink (libnftnl, found by shlibdeps): no iptables program is run.
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS "libsasl2-modules-gssapi-mit, systemd")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
    "${ward_installer}/debian/ward-agent/conffiles;${ward_installer}/debian/ward-agent/postinst;${ward_installer}/debian/ward-agent/prerm;${ward_installer}/debian/ward-agent/postrm")
set(CPACK_COMPONENT_AGENT_DESCRIPTION
    "Ward IPsec policy agent\nFetches the IPsec policy that applies to this host from an LDAP directory in\nActive Directory's layout (Group Policy scoping), compiles it and protects the\nhost's traffic with its userspace ESP driver and IKEv1. wardctl shows the\nagent's state to helpdesk staff.")

set(CPACK_DEBIAN_DIRTOOLS_PACKAGE_NAME ward-directory-tools)
set(CPACK_DEBIAN_DIRTOOLS_PACKAGE_SECTION admin)
# ward-bootstrap-directory drives slapd with the OpenLDAP command-line tools.
set(CPACK_DEBIAN_DIRTOOLS_PACKAGE_DEPENDS "ldap-utils")
set(CPACK_DEBIAN_DIRTOOLS_PACKAGE_RECOMMENDS "libsasl2-modules-gssapi-mit")
set(CPACK_DEBIAN_DIRTOOLS_PACKAGE_SUGGESTS "slapd")
set(CPACK_COMPONENT_DIRTOOLS_DESCRIPTION
    "Ward directory tools: policy administration and slapd bootstrap\nward-dir administers Ward's IPsec policies and their Group Policy assignment\nin the directory; ward-policy-ldif turns JSON policies into LDIF;\nward-bootstrap-directory loads Ward's schema into a local slapd and creates\nthe containers, an admin account and the access rules.")

set(CPACK_DEBIAN_EDITOR_PACKAGE_NAME ward-editor)
set(CPACK_DEBIAN_EDITOR_PACKAGE_SECTION net)
# The platform plugins (xcb, wayland) are not linked, so shlibdeps cannot see them.
set(CPACK_DEBIAN_EDITOR_PACKAGE_DEPENDS "qt6-qpa-plugins")
set(CPACK_COMPONENT_EDITOR_DESCRIPTION
    "Ward IPsec policy editor (Qt 6)\nEdits Ward IPsec policies, rules, filter lists and filter actions.")

include(CPack)

# Builds only the packaged programs, then the packages (into <build>/packages).
add_custom_target(ward-packages
  COMMAND ${CMAKE_CPACK_COMMAND} --config ${CMAKE_BINARY_DIR}/CPackConfig.cmake -B ${CMAKE_BINARY_DIR}/packages
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
  COMMENT "Building Ward's Debian packages in ${CMAKE_BINARY_DIR}/packages"
  USES_TERMINAL)
add_dependencies(ward-packages ${WARD_PACKAGED_TARGETS})
