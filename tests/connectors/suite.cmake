# Connectors beyond Kafka, each against its real server (docs/connectors.md, docs/testing.md).

# postgres-cdc: the shared PostgreSQL of the postgres_server fixture (tests/CMakeLists.txt); the
# test also starts and restarts a second server of its own for the server-restart case.
add_test(NAME postgres_cdc
         COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/postgres_cdc_test.py $<TARGET_FILE:sluice>)
set_tests_properties(postgres_cdc PROPERTIES FIXTURES_REQUIRED postgres_server
                     ENVIRONMENT SLUICE_POSTGRES_DIR=${SLUICE_POSTGRES_DIR} TIMEOUT 600)
