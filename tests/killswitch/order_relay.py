#!/usr/bin/env python3
"""Helpers for the kill-switch tests that must speak the protocol themselves (docs/killswitch.md).

  order_relay.py spy CONTROLLER_PORT CREDENTIAL OUT_FILE
      Enrols with a real controller as agent "spy" (model "spy-model") with the agent credential
      CREDENTIAL, renews its lease, and appends every order note it receives to OUT_FILE as one JSON
      line, until killed.

  order_relay.py mitm PORT UPSTREAM_PORT NOTES_FILE
      A hostile network in front of a real controller: relays one agent's connection to
      127.0.0.1:UPSTREAM_PORT line by line (so the agent enrols and keeps its lease), and once the
      enrolment has passed, injects each note of NOTES_FILE (JSON lines of {"note": ...}) as an
      order. Prints every message the agent sends after that (the envelope's msg) on stdout.

  order_relay.py idle PORT COUNT SECONDS
      Opens COUNT connections to 127.0.0.1:PORT that never send a byte, holds them SECONDS.

  order_relay.py fat PORT CREDENTIAL...
      Enrols one agent per credential with a long declared lineage, so that their status passes
      64 KiB; renews their leases until killed.

  order_relay.py mute PORT
      A controller that greets, takes one request and closes without answering.

  order_relay.py flood PORT MIB
      Sends MIB mebibytes without a newline to 127.0.0.1:PORT; prints "closed" if the controller
      closed the connection before the end.
"""
import base64
import hashlib
import hmac
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
            yield line


class Session:
    """The client side of an authenticated connection (auth.h)."""

    def __init__(self, sock, credential_file):
        tag, role, ident, key = open(credential_file).read().split()
        assert tag == "flopline-killswitch-credential" and role == "agent", (tag, role)
        self.sock, self.ident, self.seq, self.lock = sock, ident, 0, threading.Lock()
        self.lines = lines(sock)
        hello = json.loads(next(self.lines))
        assert hello["type"] == "hello", hello
        secret = base64.b64decode(key)
        self.key = hmac.new(secret, b"flopline-killswitch session\n" + hello["nonce"].encode(), hashlib.sha256).digest()

    def send(self, msg):
        with self.lock:
            self.seq += 1
            msg = dict(msg, seq=self.seq)
            text = json.dumps(msg, separators=(",", ":"))
            mac = hmac.new(self.key, b"client\n" + text.encode(), hashlib.sha256).hexdigest()
            self.sock.sendall(json.dumps({"from": "agent:" + self.ident, "msg": text, "mac": mac}).encode() + b"\n")

    def receive(self):
        for line in self.lines:
            m = json.loads(line)
            if "msg" in m:
                want = hmac.new(self.key, b"controller\n" + m["msg"].encode(), hashlib.sha256).hexdigest()
                assert hmac.compare_digest(want, m["mac"]), "bad mac from the controller"
                m = json.loads(m["msg"])
            yield m


def spy(port, credential, out):
    s = Session(socket.create_connection(("127.0.0.1", int(port))), credential)
    enroll = {"type": "enroll", "id": "spy", "model": "spy-model", "lineage": [], "deployment": "", "nonce": "spy1"}
    s.send(enroll)

    def renew():
        while True:
            time.sleep(0.2)
            try:
                s.send({"type": "renew", "id": "spy"})
            except OSError:
                return

    threading.Thread(target=renew, daemon=True).start()
    for m in s.receive():
        if m.get("type") == "order":
            with open(out, "a") as f:
                f.write(json.dumps({"note": m["order"]}) + "\n")
            # Acknowledge without stopping anything: the spy only collects orders.
            body = json.loads(m["order"].split("\n")[0])
            s.send({"type": "ack", "id": "spy", "fence": body["fence"], "result": "stopped",
                    "stopped_at_ms": int(time.time() * 1000)})
            # and enrols again, to be targeted by the next order too
            s.send(enroll)


def mitm(port, upstream_port, notes_file):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", int(port)))
    server.listen(1)
    print("listening", flush=True)
    agent, _ = server.accept()
    controller = socket.create_connection(("127.0.0.1", int(upstream_port)))
    enrolled = threading.Event()
    lock = threading.Lock()

    def down():  # controller -> agent
        for line in lines(controller):
            with lock:
                agent.sendall(line + b"\n")
            if b'"msg"' in line and b"enrolled" in line:
                enrolled.set()

    def up():  # agent -> controller
        for line in lines(agent):
            controller.sendall(line + b"\n")
            if enrolled.is_set():
                m = json.loads(line)
                print(m.get("msg", line.decode()), flush=True)

    threading.Thread(target=down, daemon=True).start()
    threading.Thread(target=up, daemon=True).start()
    enrolled.wait(30)
    for line in open(notes_file):
        time.sleep(0.3)
        with lock:
            agent.sendall(json.dumps({"type": "order", "order": json.loads(line)["note"]}).encode() + b"\n")
    time.sleep(1.5)


def idle(port, count, seconds):
    socks = [socket.create_connection(("127.0.0.1", int(port))) for _ in range(int(count))]
    print("open", len(socks), flush=True)
    time.sleep(float(seconds))


def flood(port, mib):
    s = socket.create_connection(("127.0.0.1", int(port)))
    chunk = b"x" * (1 << 20)
    try:
        for _ in range(int(mib)):
            s.sendall(chunk)
    except OSError:
        print("closed", flush=True)
        return
    s.settimeout(30)
    try:
        while s.recv(65536):
            pass
        print("closed", flush=True)
    except OSError:
        print("closed", flush=True)


def fat(port, *credentials):
    """Enrols one agent per credential, each declaring a lineage of 240 names of 250 bytes (just
    under the controller's 64 KiB line limit), renews their leases, prints "enrolled N", and holds
    until killed: together their status passes 64 KiB."""
    sessions = []
    for credential in credentials:
        s = Session(socket.create_connection(("127.0.0.1", int(port))), credential)
        lineage = ["%s-%03d-" % (s.ident, i) + "x" * 240 for i in range(240)]
        s.send({"type": "enroll", "id": s.ident, "model": "fat-model", "lineage": lineage,
                "deployment": "", "nonce": "fat-" + s.ident})
        m = next(s.receive())
        assert m.get("type") == "enrolled", m
        sessions.append(s)
    print("enrolled", len(sessions), flush=True)
    while True:
        time.sleep(1)
        for s in sessions:
            s.send({"type": "renew", "id": s.ident})


def mute(port):
    """A controller that greets, takes one request, and closes without an answer."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", int(port)))
    server.listen(16)
    print("listening", flush=True)
    while True:
        c, _ = server.accept()
        c.sendall(b'{"type":"hello","nonce":"00112233445566778899aabbccddeeff"}\n')
        next(lines(c), None)
        c.close()


if __name__ == "__main__":
    {"spy": spy, "mitm": mitm, "idle": idle, "flood": flood, "fat": fat,
     "mute": mute}[sys.argv[1]](*sys.argv[2:])
