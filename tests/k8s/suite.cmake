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
