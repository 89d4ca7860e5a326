# The coordinator's lease and fencing in PostgreSQL (src/dist/lease.h, docs/distributed.md
# "Leases and fencing"), against the shared PostgreSQL of the postgres_server fixture.

# Acquire, renew, the fenced commit of the latest-checkpoint pointer refused once deposed (checked
# in the table), a standby taking over when the lease runs out, the keeper noticing (a few s).
add_executable(lease_test ${CMAKE_CURRENT_SOURCE_DIR}/lease/lease_test.cc)
target_link_libraries(lease_test PRIVATE sluice_dist GTest::gtest_main)
add_test(NAME dist_lease COMMAND lease_test)
set_tests_properties(dist_lease PROPERTIES FIXTURES_REQUIRED postgres_server
                     ENVIRONMENT SLUICE_POSTGRES_DIR=${SLUICE_POSTGRES_DIR})
