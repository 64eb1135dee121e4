#!/usr/bin/env python3
"""Helpers for the kill-switch tests that must speak the protocol themselves.

  order_relay.py spy CONTROLLER_PORT OUT_FILE
      Enrols with a real controller as agent "spy" (model "spy-model"), renews its lease, and
      appends every order note it receives to OUT_FILE as one JSON line, until killed.

  order_relay.py fake PORT KEY NOTES_FILE FLOOR
      A hostile controller: accepts one agent, grants it a lease (TTL 5 s) with the real key KEY and
      fence floor FLOOR, then sends it, one per second, each note of NOTES_FILE (JSON lines of
      {"note": ...}) and records every message the agent sends back on stdout.
"""
import json
import socket
import sys
import threading
import time


def lines(sock):
    buf = b""
    while True:
        data = sock.recv(65536)
        if not data:
            return
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield json.loads(line)


def spy(port, out):
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.sendall(json.dumps({"type": "enroll", "id": "spy", "model": "spy-model", "lineage": []}).encode() + b"\n")
    seq = [0]

    def renew():
        while True:
            time.sleep(0.2)
            seq[0] += 1
            try:
                s.sendall(json.dumps({"type": "renew", "id": "spy", "seq": seq[0]}).encode() + b"\n")
            except OSError:
                return

    threading.Thread(target=renew, daemon=True).start()
    for m in lines(s):
        if m.get("type") == "order":
            with open(out, "a") as f:
                f.write(json.dumps({"note": m["order"]}) + "\n")
            # Acknowledge without stopping anything: the spy only collects orders.
            body = json.loads(m["order"].split("\n")[0])
            s.sendall(json.dumps({"type": "ack", "id": "spy", "fence": body["fence"], "result": "stopped",
                                  "stopped_at_ms": int(time.time() * 1000)}).encode() + b"\n")
            # and enrols again, to be targeted by the next order too
            s.sendall(json.dumps({"type": "enroll", "id": "spy", "model": "spy-model", "lineage": []}).encode() + b"\n")


def fake(port, key, notes_file, floor):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", int(port)))
    server.listen(1)
    print("listening", flush=True)
    conn, _ = server.accept()
    received = lines(conn)
    enroll = next(received)
    assert enroll["type"] == "enroll", enroll
    conn.sendall(json.dumps({"type": "enrolled", "ttl_ms": 5000, "key": key, "fence": int(floor)}).encode() + b"\n")

    def answer():
        for m in received:
            if m.get("type") == "renew":
                conn.sendall(json.dumps({"type": "renewed", "seq": m["seq"]}).encode() + b"\n")
            else:
                print(json.dumps(m), flush=True)

    threading.Thread(target=answer, daemon=True).start()
    for line in open(notes_file):
        time.sleep(0.3)
        conn.sendall(json.dumps({"type": "order", "order": json.loads(line)["note"]}).encode() + b"\n")
    time.sleep(1.5)


if __name__ == "__main__":
    {"spy": spy, "fake": fake}[sys.argv[1]](*sys.argv[2:])
