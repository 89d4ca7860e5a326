# Kafka suites beyond the ones tests/CMakeLists.txt declares, against the shared broker of the
# kafka_broker fixture.
# Per-partition watermarks: a slow partition holds the watermark, an idle one does not (~15 s).
add_test(NAME kafka_watermark
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/kafka/watermark_test.py
                 $<TARGET_FILE:sluice> ${SLUICE_KAFKA_BROKER_DIR})
set_tests_properties(kafka_watermark PROPERTIES FIXTURES_REQUIRED kafka_broker)
