# Beyond one machine (src/dist/, docs/distributed.md).

# The serialized dataflow graph round-trips: every case of the SQL corpus runs with its plan
# serialized, read back (functions and aggregates bound again, the graph compiled and checked
# against the recorded one) and the rebuilt plan in place of the original, at parallelism 1
# and 4; outputs must equal the corpus's expected ones. tests/sql/udf is left out: plans that
# call user-defined functions cannot be serialized yet (docs/distributed.md).
target_link_libraries(sqllogictest PRIVATE sluice_dist)
file(GLOB dist_sql_dirs LIST_DIRECTORIES true ${CMAKE_CURRENT_SOURCE_DIR}/sql/*)
list(FILTER dist_sql_dirs EXCLUDE REGEX "/(udf|README\\.md)$")
add_test(NAME dist_graph_roundtrip
         COMMAND sqllogictest --graph-roundtrip --small-batch 0 ${dist_sql_dirs})
target_link_libraries(dist_test PRIVATE sluice_dist)

# Coordinator and two workers on loopback (tests/dist/e2e.sh): windowed aggregate, windowed and
# interval joins and an updating join equal `sluice run`'s output; too few workers, no
# coordinator and a worker killed mid-run fail with precise messages (about 20 s).
add_test(NAME dist_e2e COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/dist/e2e.sh $<TARGET_FILE:sluice>)

# Checkpoints of distributed jobs and recovery (tests/dist/recovery.sh): checkpoints under the
# coordinator, the same format as `sluice run` both ways (stop then `sluice run`, `sluice run`
# killed then the coordinator), kill -9 of a worker with a replacement started (the job restarts
# from the latest checkpoint; exactly-once file sink output equals `sluice run`'s), and
# a worker lost by its heartbeat (SIGSTOP) and refused when woken, and --max-restarts 0 (about
# 45 s on an idle machine).
add_test(NAME dist_recovery COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/dist/recovery.sh $<TARGET_FILE:sluice>)
