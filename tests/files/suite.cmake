# The filesystem connector and Parquet (tests/files/README.md). Python with DuckDB and pyarrow
# from build/venv (scripts/install-python-deps, scripts/install-arrow).
add_test(NAME files_roundtrip
         COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/roundtrip_test.py $<TARGET_FILE:sluice>)
# Exactly-once output of the sink across 20 crashes (Parquet) and 10 (JSON), local directory.
add_test(NAME files_kill_restart_parquet
         COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/kill_restart_test.py
                 $<TARGET_FILE:sluice> parquet 20)
add_test(NAME files_kill_restart_json
         COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/kill_restart_test.py
                 $<TARGET_FILE:sluice> json 10)
# The same on S3: an s3proxy server the test starts; files are multipart uploads.
add_test(NAME files_kill_restart_s3
         COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/kill_restart_test.py
                 $<TARGET_FILE:sluice> parquet 20 --s3)
# Avro object container files and length-delimited Protobuf through the filesystem connector,
# checked against fastavro and Python's protobuf (protoc from Debian's protobuf-compiler).
add_test(NAME files_formats
         COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/formats_test.py $<TARGET_FILE:sluice>)
