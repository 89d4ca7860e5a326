# rabbitmq: ONE RabbitMQ server per ctest run with the rabbitmq_stream plugin
# (scripts/rabbitmq-test-server: its own node name, Mnesia and log directories, Erlang cookie and
# epmd, free loopback ports), started by the rabbitmq_server fixture before the first RabbitMQ
# test and stopped after the last; also killed when ctest exits. The test publishes with rstream
# (PyPI, in build/venv) and reads with Sluice's RabbitMQ Streams source.
set(SLUICE_RABBITMQ_DIR ${CMAKE_BINARY_DIR}/rabbitmq-server)
add_test(NAME rabbitmq_server_start
         COMMAND bash -c "\"$0\" stop \"$1\"; rm -rf \"$1\" && \"$0\" start \"$1\" --owner $PPID"
                 ${PROJECT_SOURCE_DIR}/scripts/rabbitmq-test-server ${SLUICE_RABBITMQ_DIR})
add_test(NAME rabbitmq_server_stop
         COMMAND ${PROJECT_SOURCE_DIR}/scripts/rabbitmq-test-server stop ${SLUICE_RABBITMQ_DIR})
set_tests_properties(rabbitmq_server_start PROPERTIES FIXTURES_SETUP rabbitmq_server TIMEOUT 300)
set_tests_properties(rabbitmq_server_stop PROPERTIES FIXTURES_CLEANUP rabbitmq_server)
add_test(NAME rabbitmq_stream
         COMMAND ${SLUICE_PYTHON}
                 ${CMAKE_CURRENT_LIST_DIR}/rabbitmq_test.py $<TARGET_FILE:sluice>)
set_tests_properties(rabbitmq_stream PROPERTIES FIXTURES_REQUIRED rabbitmq_server
                     ENVIRONMENT SLUICE_RABBITMQ_DIR=${SLUICE_RABBITMQ_DIR} TIMEOUT 600)
