"""A bounded fuzzing run of the live OpenAPI spec (/api/v1/openapi.json) with schemathesis
(installed into build/venv by scripts/install-python-deps): every operation gets schema-derived
valid and invalid requests (a fixed seed, 40 examples per operation); the checks: no 5xx, only
documented status codes, responses conform to their schemas and content types, and requests
that violate the schema are rejected. Requests that satisfy the schema may still be rejected
(an empty or random query is valid JSON but not valid SQL), so positive-data acceptance is not
checked. Afterwards the service must still answer and its log must show no internal error.

Usage: openapi_fuzz_test.py path/to/sluice path/to/schemathesis"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Suite  # noqa: E402

s = Suite("service_openapi_fuzz")
schemathesis = sys.argv[2] if len(sys.argv) > 2 else None
if not schemathesis or not os.access(schemathesis, os.X_OK):
    raise SystemExit("schemathesis not found at %r: run scripts/install-python-deps" %
                     schemathesis)
srv = s.server()
srv.start()
# A pipeline exists, so list responses are not all empty.
srv.api("POST", "/pipelines", {"name": "existing", "query":
                               "CREATE TABLE imp WITH (connector = 'impulse', event_rate = '10');"
                               "\nSELECT counter FROM imp;"})
base = "http://127.0.0.1:%d/api/v1" % srv.port
st, spec = srv.api("GET", "/openapi.json")
s.check("the spec is OpenAPI 3.1", st == 200 and spec.get("openapi") == "3.1.0", spec)
report = os.path.join(s.work, "schemathesis.log")
with open(report, "w") as log:
    rc = subprocess.run(
        [schemathesis, "run", base + "/openapi.json", "--url", base, "--max-examples", "40",
         "--seed", "20261207", "--phases", "examples,coverage,fuzzing",
         "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
         "response_schema_conformance,negative_data_rejection",
         "--request-timeout", "10", "--no-color"],
        stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, NO_COLOR="1"),
        cwd=s.work, timeout=600).returncode  # its cache (.schemathesis/) goes to the work dir
text = open(report).read()
s.check("schemathesis found nothing (exit 0)", rc == 0, text[-6000:])
s.check("schemathesis ran test cases", "generated" in text, text[-2000:])
st, body = srv.api("GET", "/ping")
s.check("the service still answers", st == 200, body)
s.check("no internal error in the service's log", "internal error" not in srv.log(),
        srv.log()[-2000:])
rc = srv.stop()
s.check("SIGINT: exit 0", rc == 0, srv.log()[-1000:])
s.finish()
