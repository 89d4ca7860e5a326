# The service (`sluice serve`, docs/api.md): its REST API against the real binary on a free
# loopback port, with the embedded SQLite store and with the shared PostgreSQL server
# (postgres_server fixture), and a restart of the service resuming its pipelines exactly once.
add_test(NAME service_api
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/service/api_test.py $<TARGET_FILE:sluice>)
add_test(NAME service_api_postgres
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/service/api_test.py $<TARGET_FILE:sluice>
                 --postgres)
set_tests_properties(service_api_postgres PROPERTIES FIXTURES_REQUIRED postgres_server
                     ENVIRONMENT SLUICE_POSTGRES_DIR=${SLUICE_POSTGRES_DIR})
# Restarts of the service (SIGINT, kill -9) resume its pipelines with exactly-once output (about
# 12 s each).
add_test(NAME service_restart
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/service/serve_restart_test.py
                 $<TARGET_FILE:sluice>)
add_test(NAME service_restart_postgres
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/service/serve_restart_test.py
                 $<TARGET_FILE:sluice> --postgres)
set_tests_properties(service_restart_postgres PROPERTIES FIXTURES_REQUIRED postgres_server
                     ENVIRONMENT SLUICE_POSTGRES_DIR=${SLUICE_POSTGRES_DIR})
# tests/unit/service (unit_service): the store over SQLite and the output ring; they need the
# service module besides what every unit test links.
target_link_libraries(service_test PRIVATE sluice_service)
# Live output: the preview route, 16 concurrent Server-Sent Events clients, heartbeats, a slow
# client dropped with `lagged` while the pipeline keeps its pace (about 6 s).
add_test(NAME service_sse
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/service/sse_test.py $<TARGET_FILE:sluice>)
# A bounded schemathesis run of the live OpenAPI spec (no 5xx, documented statuses, response
# schemas); schemathesis is in the Python environment of scripts/install-python-deps.
if(EXISTS "${SLUICE_PYTHON}")
  get_filename_component(SLUICE_VENV_BIN "${SLUICE_PYTHON}" DIRECTORY)
  add_test(NAME service_openapi_fuzz
           COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/service/openapi_fuzz_test.py
                   $<TARGET_FILE:sluice> ${SLUICE_VENV_BIN}/schemathesis)
endif()
# Idle memory: `sluice serve` with no pipeline under 50 MB resident with none of Arrow's
# libraries mapped; the first Parquet query loads the Arrow plugin; a binary without the plugin
# still runs other queries and refuses Parquet ones clearly (about 3 s).
add_test(NAME service_idle_memory
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/service/idle_memory_test.py
                 $<TARGET_FILE:sluice>)
# Live taps on the edges of a running pipeline: sampled rows over Server-Sent Events, two readers,
# updating edges, the end when the pipeline stops, refusals (about 15 s).
add_test(NAME service_tap
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/service/tap_test.py $<TARGET_FILE:sluice>)
# Bytes in/out and state size per operator in operator_metric_groups, checkpoints and /metrics
# (about 5 s).
add_test(NAME service_operator_bytes
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/service/operator_bytes_test.py
                 $<TARGET_FILE:sluice>)
# Editing a stopped pipeline's SQL keeps the state of unchanged operators; a changed window is
# refused by name, then dropped with allowNonRestoredState (about 15 s; once with PostgreSQL).
add_test(NAME service_edited_state
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/service/edited_state_test.py
                 $<TARGET_FILE:sluice>)
add_test(NAME service_edited_state_postgres
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/service/edited_state_test.py
                 $<TARGET_FILE:sluice> --postgres)
set_tests_properties(service_edited_state_postgres PROPERTIES FIXTURES_REQUIRED postgres_server
                     ENVIRONMENT SLUICE_POSTGRES_DIR=${SLUICE_POSTGRES_DIR})
