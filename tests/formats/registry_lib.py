"""Starts tests/formats/schema_registry_server.py (the stand-in for Confluent's schema
registry; see its docstring for why a stand-in) for one test, and talks to it."""

import atexit
import json
import os
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


class Registry:
    def __init__(self, work):
        port_file = os.path.join(work, "registry_port")
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE,
                                      "schema_registry_server.py"), port_file])
        atexit.register(self.stop)
        for _ in range(100):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{open(port_file).read().strip()}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def register(self, subject, schema, schema_type="AVRO"):
        body = {"schema": schema}
        if schema_type != "AVRO":
            body["schemaType"] = schema_type
        req = urllib.request.Request(f"{self.url}/subjects/{subject}/versions",
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type":
                                              "application/vnd.schemaregistry.v1+json"})
        return json.loads(urllib.request.urlopen(req).read())["id"]

    def get(self, path):
        return json.loads(urllib.request.urlopen(self.url + path).read())
