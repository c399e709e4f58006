#!/usr/bin/env python3
"""HTTP server for fastpp's download tests (Python standard library only).

Python's plain http.server ignores Range, so this one serves files from --root with:
  - Range: bytes=N- / bytes=N-M  -> 206 Partial Content with Content-Range; past the end -> 416;
  - /drop/<K>/<T>/<file>          -> the first T requests for this path are cut after K body bytes
                                     (headers promise the full length, so the client sees a dropped
                                     connection, as with a flaky network);
  - /norange/<file>               -> ignores Range and always answers 200 with the whole file
                                     (/drop/<K>/<T>/norange/<file> combines both);
  - /status/<code>/<file>         -> answers <code> with a short body;
  - /redirect/<file>              -> 302 to /<file>.
It binds 127.0.0.1 on a port the OS chooses, prints "PORT <n>" on stdout, and appends one line per request,
"<path> <Range header or ->", to --log. It exits when its stdin closes, so it never outlives the test that
started it, even if that test crashes.
"""
import argparse
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

ARGS = None
DROPS = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):  # keep the test output quiet; the request log is --log
        pass

    def _log(self):
        with LOCK, open(ARGS.log, "a") as f:
            f.write("%s %s\n" % (self.path, self.headers.get("Range", "-")))

    def _send_status(self, code, body=b""):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._log()
        path = unquote(self.path.split("?", 1)[0])
        drop_after, honour_range = None, True
        m = re.match(r"^/drop/(\d+)/(\d+)/(.+)$", path)
        if m:
            with LOCK:
                seen = DROPS.get(path, 0)
                DROPS[path] = seen + 1
            if seen < int(m.group(2)):
                drop_after = int(m.group(1))
            path = "/" + m.group(3)
        if path.startswith("/norange/"):  # may follow /drop/K/T/
            honour_range, path = False, path[len("/norange"):]
        elif path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", path[len("/redirect"):])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        else:
            m = re.match(r"^/status/(\d+)/(.+)$", path)
            if m:
                self._send_status(int(m.group(1)), b"status page\n")
                return

        name = path.lstrip("/")
        full = os.path.realpath(os.path.join(ARGS.root, name))
        if not full.startswith(os.path.realpath(ARGS.root) + os.sep) or not os.path.isfile(full):
            self._send_status(404, b"not found\n")
            return
        with open(full, "rb") as f:
            data = f.read()
        size = len(data)

        start, end, status = 0, size - 1, 200
        rng = self.headers.get("Range")
        if rng and honour_range:
            m = re.match(r"^bytes=(\d+)-(\d*)$", rng.strip())
            if not m:
                self._send_status(400, b"bad range\n")
                return
            start = int(m.group(1))
            if m.group(2):
                end = min(int(m.group(2)), size - 1)
            if start >= size or end < start:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206

        body = data[start:end + 1]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        if drop_after is not None and drop_after < len(body):
            self.wfile.write(body[:drop_after])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)  # cut it: the client was promised more
            return
        self.wfile.write(body)


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--root", required=True)
    p.add_argument("--log", required=True)
    ARGS = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)

    def watch_stdin():
        sys.stdin.read()  # returns at EOF: the test closed the pipe or died
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
