# kordon_add_plugin(<target> [OUTPUT_DIRECTORY <dir>] [EXPORTS <symbol>...] [NO_INSTALL]
#                   SOURCES <src>...)
#
# Builds a Kordon plugin: a MODULE library linked only against kordon::sdk, with no "lib"
# prefix (the file is <target>.so), undefined symbols refused at link time, and
# kordon_plugin_entry as its only exported symbol. Hidden visibility alone is not enough for
# C++: libstdc++ gives namespace std default visibility, so template instances a plugin uses
# (std::mt19937_64, shared_ptr's type info, ...) would be exported and could bind to another
# plugin's copies. A linker version script keeps them local. EXPORTS replaces the exported
# list (the host's tests use it to build a plugin without the entry point).
#
# The plugin is installed (component "plugins") into KORDON_PLUGIN_INSTALL_DIR, by default
# <libdir>/kordon/plugins — where an installed kordon-host looks for bare library names —
# unless NO_INSTALL is given or KORDON_PLUGIN_NO_INSTALL is true in the calling directory
# (test plugins).
include_guard(GLOBAL)
include(GNUInstallDirs)
set(KORDON_PLUGIN_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/kordon/plugins" CACHE STRING
    "Where kordon_add_plugin() installs plugins (relative to the install prefix)")

function(kordon_add_plugin target)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIRECTORY" "SOURCES;EXPORTS" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "kordon_add_plugin(${target}): SOURCES is required")
  endif()
  if(NOT ARG_EXPORTS)
    set(ARG_EXPORTS kordon_plugin_entry)
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE kordon::sdk)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(NOT APPLE AND NOT WIN32)
    list(JOIN ARG_EXPORTS "; " _exports)
    set(_map "${CMAKE_CURRENT_BINARY_DIR}/${target}.exports.map")
    file(WRITE "${_map}" "{\n  global: ${_exports};\n  local: *;\n};\n")
    target_link_options(${target} PRIVATE "LINKER:--no-undefined" "LINKER:--version-script=${_map}")
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${_map}")
  endif()
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIRECTORY}")
  elseif(DEFINED KORDON_PLUGIN_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${KORDON_PLUGIN_OUTPUT_DIRECTORY}")
  endif()
  if(NOT ARG_NO_INSTALL AND NOT KORDON_PLUGIN_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION "${KORDON_PLUGIN_INSTALL_DIR}"
            COMPONENT plugins)
  endif()
endfunction()
