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
# Files spanning checkpoints (row formats stay open; a restore truncates them to their
# checkpointed length and goes on): JSON and Avro, each file far more than one checkpoint's rows.
add_test(NAME files_kill_restart_json_span
         COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/kill_restart_test.py
                 $<TARGET_FILE:sluice> json 10 --span "--roll=256 KB" --no-partition)
add_test(NAME files_kill_restart_avro_span
         COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/kill_restart_test.py
                 $<TARGET_FILE:sluice> avro 10 --span "--roll=256 KB" --no-partition)
# On S3: 9 MB files of 5 MiB parts (rows of ~150 bytes), the uploaded parts and the buffered
# tail in the checkpoints; the first crash comes once parts are uploaded, so that the restores
# resume uploads with parts after ListParts checks them.
add_test(NAME files_kill_restart_s3_span
         COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/kill_restart_test.py
                 $<TARGET_FILE:sluice> json 10 --s3 --span "--roll=9 MB" "--part-size=5 MiB"
                 --rows=300000 --wide --first-crash-rows=95000 --no-partition)
# The same on S3: an s3proxy server the test starts; files are multipart uploads.
add_test(NAME files_kill_restart_s3
         COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/kill_restart_test.py
                 $<TARGET_FILE:sluice> parquet 20 --s3)
# An S3 upload aborted behind the pipeline's back while its file spans checkpoints: restarted
# from the checkpointed tail, or (a part was uploaded) one message naming it.
add_test(NAME files_s3_resume
         COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/s3_resume_test.py $<TARGET_FILE:sluice>)
# Open files taken over by fewer subtasks after a restore (3 -> 1): one per directory goes on,
# the others are finished.
add_test(NAME files_rescale
         COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/rescale_test.py $<TARGET_FILE:sluice>)
# A time partition's file, open across checkpoints, closed by the watermark and visible before
# the end of the input; across a crash every row in its minute's directory once.
add_test(NAME files_time_partition
         COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/time_partition_test.py
                 $<TARGET_FILE:sluice>)
# Avro object container files and length-delimited Protobuf through the filesystem connector,
# checked against fastavro and Python's protobuf (protoc from Debian's protobuf-compiler).
add_test(NAME files_formats
         COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/formats_test.py $<TARGET_FILE:sluice>)
# source.monitor_interval (files that appear are read while the pipeline runs, also across a
# kill and restore) and rolling by inactivity on a timer.
add_test(NAME files_monitor
         COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/monitor_test.py $<TARGET_FILE:sluice>)
