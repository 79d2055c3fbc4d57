#!/usr/bin/env python3
"""mockhttp.py -- a scripted loopback HTTP(S) server for the remote-source
tests (Gmail, Graph, OAuth token and tokeninfo endpoints).  Standard
library only; binds 127.0.0.1 only; prints nothing.

usage: mockhttp.py PORTFILE ROUTES.json REQLOG.jsonl [CERT.pem KEY.pem]

It listens on a free port and writes the port number to PORTFILE once it
accepts connections (the test waits for that file: no port races).

ROUTES.json is a list tried in order; the first route that matches wins:
  {"method": "GET",                        optional
   "path": "/gmail/v1/users/me/profile",   exact path, or
   "path_re": "^/gmail/.*/messages/[^/]+$",   a regex searched in the path
   "query": {"format": "raw"},             every listed key must have this value
   "query_absent": ["pageToken"],          these keys must not be present
   "header": {"Authorization": "Bearer x"},   case-insensitive header name
   "body_contains": "grant_type=refresh_token",
   "responses": [ {...}, {...} ]}          served in order; the last one repeats
A response has "status", optional "headers", and one of "json" (any JSON
value, serialised), "body" (text), "body_file" (bytes of a file), plus
"delay" (seconds to sleep before answering) and "close": true (drop the
connection without answering, as a dying server does).

Control endpoints (not logged): POST /_mock/routes with a routes list
replaces the routes and resets the sequences; POST /_mock/reset clears the
sequences only.  Unmatched requests get 404 {"error":"no mock route"}.
Paths are matched and logged percent-decoded, as servers see them.
Every other request is appended to REQLOG as one JSON line:
  {"t": unix time, "method", "path", "query": {k: [v...]}, "headers", "body"}
"""
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, routes_file, log_file = sys.argv[1], sys.argv[2], sys.argv[3]
with open(routes_file) as f:
    ROUTES = json.load(f)
HITS = [0] * len(ROUTES)
LOCK = threading.Lock()


def match(r, method, path, query, headers, body):
    if r.get("method", method) != method:
        return False
    if "path" in r and r["path"] != path:
        return False
    if "path_re" in r and not re.search(r["path_re"], path):
        return False
    for k, v in r.get("query", {}).items():
        if v not in query.get(k, []):
            return False
    for k in r.get("query_absent", []):
        if k in query:
            return False
    for k, v in r.get("header", {}).items():
        if headers.get(k) != v:
            return False
    return r.get("body_contains", "") in body


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True      # no 40 ms delayed-ACK stalls per request

    def log_message(self, *a):
        pass

    def control(self, path, body):
        global ROUTES, HITS
        with LOCK:
            if path == "/_mock/routes":
                ROUTES = json.loads(body)
            HITS = [0] * len(ROUTES)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def handle_any(self):
        global HITS
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        if u.path.startswith("/_mock/"):
            return self.control(u.path, body)
        query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        path = urllib.parse.unquote(u.path)     # servers match decoded paths
        with LOCK:
            with open(log_file, "a") as f:
                f.write(json.dumps({"t": time.time(), "method": self.command,
                                    "path": path, "query": query,
                                    "headers": dict(self.headers.items()),
                                    "body": body}) + "\n")
            resp = {"status": 404, "json": {"error": "no mock route"}}
            for i, r in enumerate(ROUTES):
                if match(r, self.command, path, query, self.headers, body):
                    seq = r["responses"]
                    resp = seq[min(HITS[i], len(seq) - 1)]
                    HITS[i] += 1
                    break
        time.sleep(resp.get("delay", 0))
        if resp.get("close"):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if "json" in resp:
            data, ctype = json.dumps(resp["json"]).encode(), "application/json; charset=UTF-8"
        elif "body_file" in resp:
            with open(resp["body_file"], "rb") as f:
                data, ctype = f.read(), "application/octet-stream"
        else:
            data, ctype = resp.get("body", "").encode(), "text/plain"
        try:
            self.send_response(resp["status"])
            hdrs = {"Content-Type": ctype, **resp.get("headers", {})}
            for k, v in hdrs.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


ThreadingHTTPServer.daemon_threads = True
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
if len(sys.argv) > 5:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(tmp, portfile)
srv.serve_forever()
