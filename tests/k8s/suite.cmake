# Kubernetes (src/k8s/, docs/kubernetes.md). No cluster runs here: the manifests are validated
# offline and their processes run on loopback.

# `sluice k8s render`: the manifests pass `kubernetes-validate --strict` (PyPI, installed into
# build/venv by scripts/install-k8s-validate), carry the options and the pod template, start
# exactly what --print-commands prints, and bad input is refused clearly (about 10 s).
# The coordinator and three workers started with the arguments and environment the manifests
# give them (--print-commands --loopback): their output equals `sluice run`'s (a few seconds).
if(EXISTS "${SLUICE_PYTHON}")
  add_test(NAME k8s_render
           COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/k8s/render_test.py
                   $<TARGET_FILE:sluice>)
  add_test(NAME k8s_local_run
           COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/k8s/local_run_test.py
                   $<TARGET_FILE:sluice>)
endif()

# The same with --postgres-secret: two coordinator replicas from the manifests elect a leader
# through the lease in the fixture's PostgreSQL (the Secret's value supplied by the test); one
# leads, the other stands by; the output is still exact (a few seconds).
if(EXISTS "${SLUICE_PYTHON}")
  add_test(NAME k8s_local_run_lease
           COMMAND ${SLUICE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/k8s/local_run_test.py
                   $<TARGET_FILE:sluice> --lease)
  set_tests_properties(k8s_local_run_lease PROPERTIES FIXTURES_REQUIRED postgres_server
                       ENVIRONMENT SLUICE_POSTGRES_DIR=${SLUICE_POSTGRES_DIR})
endif()
