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

if(SLUICE_CONSOLE)
  # Component tests of the console's TypeScript (SSE parsing, the API readers, graph layout,
  # metric summaries) with Vitest; node_modules comes from the build's `npm ci`.
  add_test(NAME console_vitest COMMAND ${SLUICE_NPM} test --silent
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/console)
endif()
if(SLUICE_CONSOLE AND TARGET sluice_api)
  # The console in Debian's Chromium against the real `sluice serve` (playwright-core from
  # console/node_modules; no browser download). Screenshots and the server's log are kept in
  # console-artifacts/ of the build directory.
  add_test(NAME console_browser
           COMMAND ${SLUICE_NODE} --test --test-timeout=150000
                   ${CMAKE_CURRENT_SOURCE_DIR}/console/browser.test.mjs)
  set_tests_properties(console_browser PROPERTIES TIMEOUT 180 ENVIRONMENT
    "SLUICE_BIN=$<TARGET_FILE:sluice>;SLUICE_CONSOLE_DIR=${PROJECT_SOURCE_DIR}/console;SLUICE_ARTIFACTS=${CMAKE_BINARY_DIR}/console-artifacts")
endif()
