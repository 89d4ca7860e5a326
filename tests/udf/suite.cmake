# User-defined functions (src/udf, docs/udf.md). The SQL logic tests of UDFs are under
# tests/sql/udf (run by the `sql` and `sql_kill_restore` entries); they compile their functions
# into a UDF cache inside the build tree rather than the user's ~/.cache.
set_property(TEST sql sql_kill_restore APPEND PROPERTY ENVIRONMENT
             SLUICE_UDF_CACHE_DIR=${CMAKE_BINARY_DIR}/udf-cache)

# A segfaulting C++ UDF ends `sluice run` by SIGSEGV with the function named on stderr.
add_test(NAME udf_crash COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/crash_test.sh $<TARGET_FILE:sluice>)
set_tests_properties(udf_crash PROPERTIES ENVIRONMENT SLUICE_UDF_CACHE_DIR=${CMAKE_BINARY_DIR}/udf-cache)

# Async C++ UDFs against a real local HTTP service the test starts (Python's threaded
# http.server): ordered and unordered results, windows over them (no row late), NULL, failing
# calls, timeouts, bad options, and kill -9 with calls in flight then restore (output equal to
# the uninterrupted run's at parallelism 1 and 2). The UDF is tests/udf/http_get.cc (libcurl);
# a Python async def (asyncio streams) is run against the same service too.
add_test(NAME udf_async COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/async_test.py $<TARGET_FILE:sluice>)
set_tests_properties(udf_async PROPERTIES ENVIRONMENT SLUICE_UDF_CACHE_DIR=${CMAKE_BINARY_DIR}/udf-cache
                     TIMEOUT 600)

# The trust boundary today (decision 0027): under `sluice serve` a segfaulting C++ UDF ends the
# whole service (every pipeline) by SIGSEGV with the function named in the log (about 10 s).
add_test(NAME udf_serve_crash
         COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/serve_crash_test.py $<TARGET_FILE:sluice>)
set_tests_properties(udf_serve_crash PROPERTIES ENVIRONMENT
                     SLUICE_UDF_CACHE_DIR=${CMAKE_BINARY_DIR}/udf-cache TIMEOUT 300)
