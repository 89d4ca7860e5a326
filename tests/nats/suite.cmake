# nats: a NATS server with JetStream of the test's own (scripts/nats-test-server, on a free
# loopback port, its store under the test's temporary directory), started, restarted and stopped
# by the test; the test reads and writes it with its own protocol client (tests/nats/nats_lib.py).
add_test(NAME nats
         COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/nats_test.py $<TARGET_FILE:sluice>)
set_tests_properties(nats PROPERTIES TIMEOUT 900)
