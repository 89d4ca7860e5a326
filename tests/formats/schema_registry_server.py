"""A stand-in for Confluent's schema registry in the format tests: the part of its REST API
Sluice uses, with Confluent's documented request and response shapes
(https://docs.confluent.io/platform/current/schema-registry/develop/api.html).

It is a stand-in because no real registry runs here: Confluent's is on no reachable registry,
Karapace is not on PyPI, and Apicurio Registry's application cannot be assembled from the
reachable Maven mirror (its dependency apicurio-registry-schema-util-provider is not served).

  GET  /schemas/ids/{id}            -> {"schema": "...", "schemaType": "PROTOBUF"} (no
                                       schemaType for AVRO); 404 {"error_code": 40403, ...}
  POST /subjects/{subject}/versions -> {"id": N}; the same schema text gets the same id
  GET  /subjects                    -> ["subject", ...]

Usage: schema_registry_server.py PORT_FILE   (binds 127.0.0.1 on a free port, writes it to
PORT_FILE, serves until killed). The test registers and reads schemas through it like a
client of the real one."""

import http.server
import json
import sys
import threading

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"

lock = threading.Lock()
schemas = {}      # id -> (schemaType, schema)
by_text = {}      # (schemaType, schema) -> id
subjects = {}     # subject -> [id, ...]


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "schemas" and parts[1] == "ids":
            try:
                sid = int(parts[2])
            except ValueError:
                return self.reply(404, {"error_code": 40403, "message": "Schema not found"})
            with lock:
                entry = schemas.get(sid)
            if entry is None:
                return self.reply(404, {"error_code": 40403,
                                        "message": f"Schema {sid} not found"})
            body = {"schema": entry[1]}
            if entry[0] != "AVRO":
                body["schemaType"] = entry[0]
            return self.reply(200, body)
        if parts == ["subjects"]:
            with lock:
                return self.reply(200, sorted(subjects))
        self.reply(404, {"error_code": 404, "message": "HTTP 404 Not Found"})

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        length = int(self.headers.get("Content-Length", "0"))
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.reply(400, {"error_code": 400, "message": "Unrecognized JSON"})
        if len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
            if "schema" not in request:
                return self.reply(422, {"error_code": 42201, "message": "Empty schema"})
            key = (request.get("schemaType", "AVRO"), request["schema"])
            with lock:
                sid = by_text.get(key)
                if sid is None:
                    sid = len(schemas) + 1
                    schemas[sid] = key
                    by_text[key] = sid
                versions = subjects.setdefault(parts[1], [])
                if sid not in versions:
                    versions.append(sid)
            return self.reply(200, {"id": sid})
        self.reply(404, {"error_code": 404, "message": "HTTP 404 Not Found"})

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
