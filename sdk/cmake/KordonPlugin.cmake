# kordon_add_plugin(<target> [OUTPUT_DIRECTORY <dir>] [EXPORTS <symbol>...] SOURCES <src>...)
#
# Builds a Kordon plugin: a MODULE library linked only against kordon::sdk, with no "lib"
# prefix (the file is <target>.so), undefined symbols refused at link time, and
# kordon_plugin_entry as its only exported symbol. Hidden visibility alone is not enough for
# C++: libstdc++ gives namespace std default visibility, so template instances a plugin uses
# (std::mt19937_64, shared_ptr's type info, ...) would be exported and could bind to another
# plugin's copies. A linker version script keeps them local. EXPORTS replaces the exported
# list (the host's tests use it to build a plugin without the entry point).
include_guard(GLOBAL)

function(kordon_add_plugin target)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES;EXPORTS" ${ARGN})
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
endfunction()
