# kordon_add_fuzz_target(NAME SOURCES src... [LIBRARIES lib...])
#
# A fuzz target is one source file that defines
#     extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
# and aborts (assert-style, with a message) when an invariant of the code under test breaks.
#
# Ordinary builds (g++): the target is linked with replay_main.cpp into tests/bin/fuzz_NAME and
# registered as the CTest test `fuzz.NAME`, which replays every file of tests/fuzz/corpus/NAME
# plus every prefix of each file and a fixed set of seeded mutations (see replay_main.cpp), so
# the corpus is exercised in every `make test`.
#
# Fuzzing builds (`make fuzz`: clang, -DKORDON_FUZZ=ON): the same source is linked with
# libFuzzer (-fsanitize=fuzzer) and ASan/UBSan; run it on its corpus to look for new inputs.
set(KORDON_FUZZ_CORPUS_DIR "${CMAKE_CURRENT_LIST_DIR}/corpus")
set(KORDON_FUZZ_REPLAY_MAIN "${CMAKE_CURRENT_LIST_DIR}/replay_main.cpp")

function(kordon_add_fuzz_target name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES;LIBRARIES")
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "kordon_add_fuzz_target(${name}): SOURCES is required")
  endif()
  set(corpus "${KORDON_FUZZ_CORPUS_DIR}/${name}")
  if(NOT IS_DIRECTORY "${corpus}")
    message(FATAL_ERROR "kordon_add_fuzz_target(${name}): no corpus at ${corpus}")
  endif()
  set(target "fuzz_${name}")
  if(KORDON_FUZZ)
    add_executable(${target} ${ARG_SOURCES})
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  else()
    add_executable(${target} ${ARG_SOURCES} "${KORDON_FUZZ_REPLAY_MAIN}")
  endif()
  target_link_libraries(${target} PRIVATE ${ARG_LIBRARIES})
  set_property(GLOBAL APPEND PROPERTY KORDON_FUZZ_TARGETS "${name}")
  if(NOT KORDON_FUZZ)
    add_test(NAME fuzz.${name} COMMAND ${target} "${corpus}")
    set_tests_properties(fuzz.${name} PROPERTIES TIMEOUT 300 LABELS fuzz)
  endif()
endfunction()
