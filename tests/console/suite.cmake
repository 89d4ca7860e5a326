# The web console (console/, docs/console.md).

# Its assets embedded in the binary, compared byte for byte with the build's files.
target_link_libraries(console_test PRIVATE sluice_console_assets)
if(SLUICE_CONSOLE)
  target_compile_definitions(console_test PRIVATE
                             SLUICE_CONSOLE_ASSETS_DIR="${CMAKE_BINARY_DIR}/console/dist")
else()
  target_compile_definitions(console_test PRIVATE
                             SLUICE_CONSOLE_ASSETS_DIR="${PROJECT_SOURCE_DIR}/console/stub")
endif()
