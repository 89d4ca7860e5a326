# Avro (and later Protobuf) formats through the kafka connector against the shared broker
# (fixture kafka_broker), checked against fastavro in the Python virtual environment
# (scripts/install-python-deps installs it). A run without the venv or the broker fails: it
# never skips.
add_test(NAME formats_avro
         COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/avro_test.py $<TARGET_FILE:sluice>
                 ${SLUICE_KAFKA_BROKER_DIR})
set_tests_properties(formats_avro PROPERTIES FIXTURES_REQUIRED kafka_broker)
