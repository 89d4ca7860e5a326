# The coordinator's lease and fencing in PostgreSQL (src/dist/lease.h, docs/distributed.md
# "Leases and fencing"), against the shared PostgreSQL of the postgres_server fixture.

# Acquire, renew, the fenced commit of the latest-checkpoint pointer refused once deposed (checked
# in the table), a standby taking over when the lease runs out, the keeper noticing (a few s).
add_executable(lease_test ${CMAKE_CURRENT_SOURCE_DIR}/lease/lease_test.cc)
target_link_libraries(lease_test PRIVATE sluice_dist GTest::gtest_main)
add_test(NAME dist_lease COMMAND lease_test)
set_tests_properties(dist_lease PROPERTIES FIXTURES_REQUIRED postgres_server
                     ENVIRONMENT SLUICE_POSTGRES_DIR=${SLUICE_POSTGRES_DIR})

# Two `sluice coordinator --lease-url` processes: the standby waits, the leader is SIGSTOPped past
# its TTL, the standby takes over (epoch 2 in the table), the woken old leader's fenced renewal is
# refused and it exits naming the new holder; the job then completes under the new leader with
# `sluice run`'s output (about 15 s).
add_test(NAME dist_lease_failover
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/lease/failover_test.sh $<TARGET_FILE:sluice>)
set_tests_properties(dist_lease_failover PROPERTIES FIXTURES_REQUIRED postgres_server
                     ENVIRONMENT SLUICE_POSTGRES_DIR=${SLUICE_POSTGRES_DIR})

# A leader whose lease database goes silent (a TCP forwarder frozen by SIGSTOP) stops with status
# 3 once a TTL passed without a renewal; another coordinator then takes the lease (about 10 s).
add_test(NAME dist_lease_silent_db
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/lease/silent_db_test.py $<TARGET_FILE:sluice>)
set_tests_properties(dist_lease_silent_db PROPERTIES FIXTURES_REQUIRED postgres_server
                     ENVIRONMENT SLUICE_POSTGRES_DIR=${SLUICE_POSTGRES_DIR})
