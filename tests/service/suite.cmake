# The service (`sluice serve`, docs/api.md): its REST API against the real binary on a free
# loopback port, with the embedded SQLite store and with the shared PostgreSQL server
# (postgres_server fixture), and a restart of the service resuming its pipelines exactly once.
add_test(NAME service_api
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/service/api_test.py $<TARGET_FILE:sluice>)
