# Kafka suites beyond the ones tests/CMakeLists.txt declares, against the shared broker of the
# kafka_broker fixture.
# Per-partition watermarks: a slow partition holds the watermark, an idle one does not (~15 s).
add_test(NAME kafka_watermark
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/kafka/watermark_test.py
                 $<TARGET_FILE:sluice> ${SLUICE_KAFKA_BROKER_DIR})
set_tests_properties(kafka_watermark PROPERTIES FIXTURES_REQUIRED kafka_broker)
# Crashes (kill -9 and fault points in the source, mid-transaction, after checkpoint completion
# before the commit, after the commit) of windowed and updating Kafka -> Kafka exactly_once
# pipelines, 5 per kind (~2 min); `make test-kafka-crash` runs 20 per kind.
add_test(NAME kafka_crash
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/kafka/crash_test.py
                 $<TARGET_FILE:sluice> ${SLUICE_KAFKA_BROKER_DIR} 5)
set_tests_properties(kafka_crash PROPERTIES FIXTURES_REQUIRED kafka_broker)
# raw_bytes read and written byte for byte, and the format's refusals.
add_test(NAME kafka_formats
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/kafka/formats_test.py
                 $<TARGET_FILE:sluice> ${SLUICE_KAFKA_BROKER_DIR})
set_tests_properties(kafka_formats PROPERTIES FIXTURES_REQUIRED kafka_broker)
# sink.headers_field: record headers from a JSON or STRUCT column, read back with kcat (~15 s).
add_test(NAME kafka_sink_headers
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/kafka/sink_headers_test.py
                 $<TARGET_FILE:sluice> ${SLUICE_KAFKA_BROKER_DIR})
set_tests_properties(kafka_sink_headers PROPERTIES FIXTURES_REQUIRED kafka_broker)
