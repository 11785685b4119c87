# Read by cpack once per generator (CPACK_PROJECT_CONFIG_FILE): each package
# carries the systemd units where its distribution keeps them.
if(CPACK_GENERATOR STREQUAL "DEB")
  set(CPACK_COMPONENTS_ALL Unspecified units_deb)
elseif(CPACK_GENERATOR STREQUAL "RPM")
  set(CPACK_COMPONENTS_ALL Unspecified units_rpm)
endif()
