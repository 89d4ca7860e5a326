# Avro and Protobuf formats through the kafka connector against the shared broker (fixture
# kafka_broker), checked against fastavro and Python's protobuf in the Python virtual
# environment (scripts/install-python-deps installs them), with protoc (Debian
# protobuf-compiler). The Confluent wire format is tested against a stand-in registry started
# by the tests (tests/formats/schema_registry_server.py says why a stand-in). A run without the
# venv or the broker fails: it never skips.
foreach(format avro protobuf)
  add_test(NAME formats_${format}
           COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/${format}_test.py
                   $<TARGET_FILE:sluice> ${SLUICE_KAFKA_BROKER_DIR})
  set_tests_properties(formats_${format} PROPERTIES FIXTURES_REQUIRED kafka_broker)
endforeach()
