# HTTP connectors (src/connectors/http): sse, websocket, polling_http sources and the webhook
# sink, each against local servers the test starts itself (tests/http/http_servers.py, Python's
# standard library, loopback ports), plus their options in the service's GET /connectors.
add_test(NAME http_connectors
         COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/http_test.py $<TARGET_FILE:sluice>)
set_tests_properties(http_connectors PROPERTIES TIMEOUT 900)
