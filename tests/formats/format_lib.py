"""Helpers of the format tests: binary records to and from Kafka with kcat."""

import os
import struct
import subprocess


def produce_bytes(s, topic, payloads, partition=0):
    """Each payload one record (kcat sends each file given as one message), in order."""
    files = []
    for i, p in enumerate(payloads):
        path = os.path.join(s.work, f"{topic}_{i}.bin")
        with open(path, "wb") as f:
            f.write(p)
        files.append(path)
    subprocess.run(["kcat", "-b", s.bootstrap, "-P", "-t", topic, "-p", str(partition), *files],
                   check=True, stderr=subprocess.DEVNULL)


def consume_bytes(s, topic):
    """The values of every record of the topic (one partition), in offset order."""
    out = subprocess.run(["kcat", "-b", s.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e",
                          "-q", "-f", "%R%s"], check=True, capture_output=True).stdout
    values, pos = [], 0
    while pos < len(out):
        (n,) = struct.unpack(">i", out[pos:pos + 4])
        values.append(out[pos + 4:pos + 4 + n])
        pos += 4 + n
    return values


def sql_string(text):
    return "'" + text.replace("'", "''") + "'"
