# Connectors beyond Kafka, each against its real server (docs/connectors.md, docs/testing.md).

# postgres-cdc: the shared PostgreSQL of the postgres_server fixture (tests/CMakeLists.txt); the
# test also starts and restarts a second server of its own for the server-restart case.
add_test(NAME postgres_cdc
         COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/postgres_cdc_test.py $<TARGET_FILE:sluice>)
set_tests_properties(postgres_cdc PROPERTIES FIXTURES_REQUIRED postgres_server
                     ENVIRONMENT SLUICE_POSTGRES_DIR=${SLUICE_POSTGRES_DIR} TIMEOUT 600)

# redis: ONE Redis server per ctest run (scripts/redis-test-server), started by the redis_server
# fixture before the first Redis test and stopped after the last; also killed when ctest exits.
set(SLUICE_REDIS_DIR ${CMAKE_BINARY_DIR}/redis-server)
add_test(NAME redis_server_start
         COMMAND bash -c "\"$0\" stop \"$1\"; rm -rf \"$1\" && \"$0\" start \"$1\" --owner $PPID"
                 ${PROJECT_SOURCE_DIR}/scripts/redis-test-server ${SLUICE_REDIS_DIR})
add_test(NAME redis_server_stop
         COMMAND ${PROJECT_SOURCE_DIR}/scripts/redis-test-server stop ${SLUICE_REDIS_DIR})
set_tests_properties(redis_server_start PROPERTIES FIXTURES_SETUP redis_server)
set_tests_properties(redis_server_stop PROPERTIES FIXTURES_CLEANUP redis_server)
add_test(NAME redis_sink
         COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/redis_test.py $<TARGET_FILE:sluice>)
set_tests_properties(redis_sink PROPERTIES FIXTURES_REQUIRED redis_server
                     ENVIRONMENT SLUICE_REDIS_DIR=${SLUICE_REDIS_DIR} TIMEOUT 600)

# mqtt: a mosquitto broker of the test's own (scripts/mosquitto-test-server: plain, TLS and
# password listeners), started and stopped by the test (about a minute: one source stays idle
# for 50 s, past the broker's keep-alive timeout, while the other checks run).
add_test(NAME mqtt
         COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/mqtt_test.py $<TARGET_FILE:sluice>)
set_tests_properties(mqtt PROPERTIES TIMEOUT 600)
