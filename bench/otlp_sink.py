"""A stand-in OpenTelemetry collector for the spike bench: takes OTLP/HTTP exports and throws them away, so a
run with traces on pays for making and sending spans, not for a collector's work.

    python bench/otlp_sink.py 4318 &
    EVERYPENNY_OTLP_ENDPOINT=http://127.0.0.1:4318/v1/traces python bench/spike_bench.py ...
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Sink(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:
        Sink.received += len(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        print(f"otlp sink: {Sink.received:,} bytes of spans received", file=sys.stderr, flush=True)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 4318), Sink)
    server.serve_forever()
