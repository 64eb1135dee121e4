#!/usr/bin/env python3
"""A large cached answer (a model's determination, 70 KB) as `flopline serve` sends it from an
in-memory file (sendfile, plain TCP): byte for byte the same as its gzip form decoded (which goes
the ordinary way), with the same Content-Length, on one keep-alive connection; HEAD and 304 carry no
body; and requests pipelined by a client that reads slowly through a 4 KB receive buffer (the
server's writes must wait for the socket and resume) all come back whole and in order.

Usage: large_body_test.py URL TOKEN
"""
import gzip
import http.client
import socket
import sys
import time
import urllib.parse

url, token = sys.argv[1], sys.argv[2]
parts = urllib.parse.urlsplit(url)
path = "/api/v1/models/acme-f1-chat/determination?as_of=2026-11-23"
auth = {"Authorization": "Bearer " + token}
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)[:300]))
    if not ok:
        failures.append(name)


conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
bodies = []
for i in range(4):
    conn.request("GET", path, headers=auth)
    r = conn.getresponse()
    body = r.read()
    check(f"GET {i}: 200", r.status == 200, r.status)
    check(f"GET {i}: Content-Length is the body's", int(r.getheader("Content-Length", "-1")) == len(body))
    bodies.append((body, r.getheader("ETag"), r.getheader("Content-Type")))
check("large enough for the file path", len(bodies[0][0]) >= 16 << 10, len(bodies[0][0]))
check("every answer the same bytes", all(b == bodies[0] for b in bodies), [len(b[0]) for b in bodies])
check("JSON content type", bodies[0][2] == "application/json", bodies[0][2])
conn.request("GET", path, headers={**auth, "Accept-Encoding": "gzip"})
r = conn.getresponse()
zipped = r.read()
check("gzip form: 200 gzip", r.status == 200 and r.getheader("Content-Encoding") == "gzip", r.status)
check("gzip form decoded = the file's bytes", gzip.decompress(zipped) == bodies[0][0])
conn.request("HEAD", path, headers=auth)
r = conn.getresponse()
head = r.read()
check("HEAD: no body, the GET's length", head == b"" and int(r.getheader("Content-Length")) == len(bodies[0][0]))
conn.request("GET", path, headers={**auth, "If-None-Match": bodies[0][1]})
r = conn.getresponse()
check("If-None-Match: 304, no body", r.status == 304 and r.read() == b"", r.status)
conn.request("GET", path, headers=auth)
r = conn.getresponse()
check("the connection still serves after them", r.status == 200 and r.read() == bodies[0][0])
conn.close()

# Pipelined, read slowly through a small receive buffer: 80 answers (6 MB) are more than the
# kernel lets a socket queue (4 MB at most), so the server's sendfile finds the socket full and
# resumes when it drains.
n = 80
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(60)
s.connect((parts.hostname, parts.port))
req = (f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n").encode()
s.sendall(req * n)
time.sleep(0.5)  # let the server fill the socket and find it full
data = bytearray()
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
    # Every body's bytes, ending with a whole body, and every head: all answered (parsed below).
    if len(data) >= n * len(bodies[0][0]) and data.endswith(bodies[0][0]) and data.count(b"HTTP/1.1 200 OK") >= n:
        break
s.close()
data = bytes(data)
got = []
rest = data
while rest:
    head_end = rest.find(b"\r\n\r\n")
    if head_end < 0:
        break
    head = rest[:head_end].decode("latin-1")
    length = int([l.split(":", 1)[1] for l in head.split("\r\n") if l.lower().startswith("content-length:")][0])
    got.append(rest[head_end + 4 : head_end + 4 + length])
    rest = rest[head_end + 4 + length :]
check(f"pipelined: {n} answers whole and in order", len(got) == n and all(b == bodies[0][0] for b in got),
      f"{len(got)} answers, lengths {[len(b) for b in got]}, {len(rest)} bytes left")

# Clients gone mid-answer (closed with a reset while the body is being sent): the server goes on.
for _ in range(8):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((parts.hostname, parts.port))
    s.sendall(req * 4)
    s.recv(1024)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
time.sleep(0.5)
conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
conn.request("GET", path, headers=auth)
r = conn.getresponse()
check("the server still answers after clients left mid-answer", r.status == 200 and r.read() == bodies[0][0])

print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
