#!/usr/bin/env python3
"""A registry endpoint that misbehaves on purpose, for error-path tests the
real docker-registry cannot produce: bearer-token auth with a token server,
500s, dropped connections, truncated and corrupted blobs, an oversized
manifest and a CDN-style redirect. Binds 127.0.0.1 only; prints its port."""
import base64, hashlib, json, socket, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

WASM = open(sys.argv[1], "rb").read()
CFG = b"{}"
def dg(b): return "sha256:" + hashlib.sha256(b).hexdigest()
MAN = json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.wasm.config.v1+json", "digest": dg(CFG), "size": 2},
    "layers": [{"mediaType": "application/vnd.wasm.content.layer.v1+wasm",
                "digest": dg(WASM), "size": len(WASM),
                "annotations": {"org.opencontainers.image.title": "a.wasm"}}]},
    separators=(",", ":")).encode()
BLOBS = {dg(CFG): CFG, dg(WASM): WASM}
TOKENS = set()
DELETED = []
SESSIONS = {}   # ok/chunked upload sessions: id -> bytearray
CHUNKS = {"sizes": [], "resyncs": 0, "committed": []}
CUTS = {}
CDN = []        # requests that reached /cdn/ (must carry no Authorization)

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def send(self, code, body=b"", ctype="application/json", extra=None, length=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (extra or {}).items(): self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    def challenge(self, repo):
        realm = "http://127.0.0.1:%d/token" % self.server.server_port
        scope = ',scope="repository:%s:pull"' % repo if repo else ""
        self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                  extra={"WWW-Authenticate": 'Bearer realm="%s",service="fault.test"%s' % (realm, scope)})
    def do_HEAD(self): self.do_GET()
    def chunked(self, n):
        """ok/chunked: a registry that wants 16-byte chunks, answers the
        first full chunk of a session with 416 (as if its ack was lost),
        reports progress on GET and checks the digest on PUT."""
        u = urlparse(self.path)
        body = self.rfile.read(n) if n else b""
        repo = "/".join(u.path.split("/")[2:4])
        if self.headers.get("Authorization") != "Bearer tok-repository:%s:pull,push" % repo:
            realm = "http://127.0.0.1:%d/token" % self.server.server_port
            return self.send(401, b"{}", extra={"WWW-Authenticate":
                'Bearer realm="%s",service="fault.test",scope="repository:%s:pull,push"' % (realm, repo)})
        if self.command == "HEAD":
            return self.send(404)
        if "/manifests/" in u.path and self.command == "PUT":
            return self.send(201, extra={"Docker-Content-Digest": dg(body)})
        sid = u.path.rsplit("/", 1)[-1]
        if self.command == "POST":
            sid = "s%d" % len(SESSIONS)
            SESSIONS[sid] = bytearray()
            loc = "/v2/%s/blobs/uploads/%s" % (repo, sid)
            if repo == "ok/redir":
                loc += "?redir=1"
            return self.send(202, extra={"Location": loc,
                                         "OCI-Chunk-Min-Length": "16", "Range": "0-0"})
        buf = SESSIONS.get(sid)
        if buf is None:
            return self.send(404, b'{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN"}]}')
        rng = "0-%d" % (len(buf) - 1 if buf else 0)
        if self.command == "GET":
            return self.send(204, extra={"Location": u.path, "Range": rng})
        if self.command == "PATCH":
            start = int(self.headers.get("Content-Range", "0-0").split("-")[0])
            if start != len(buf):
                return self.send(416)
            buf += body
            CHUNKS["sizes"].append(len(body))
            if len(buf) == 16 and CHUNKS["resyncs"] == 0:
                CHUNKS["resyncs"] += 1
                return self.send(416)
            return self.send(202, extra={"Location": u.path, "Range": "0-%d" % (len(buf) - 1)})
        if self.command == "PUT":
            qs = parse_qs(u.query)
            if qs.get("redir") == ["1"]:
                # Storage elsewhere: the client must re-send the body.
                CHUNKS["redirects"] = CHUNKS.get("redirects", 0) + 1
                return self.send(307, extra={"Location": "%s?digest=%s" % (u.path, qs["digest"][0])})
            buf += body
            want = qs.get("digest", [""])[0]
            if dg(bytes(buf)) != want:
                return self.send(400, b'{"errors":[{"code":"DIGEST_INVALID"}]}')
            CHUNKS["committed"].append(want)
            return self.send(201, extra={"Location": "/v2/%s/blobs/%s" % (repo, want)})
        return self.send(405)

    def upload(self):
        """err/upload: sessions start, every chunk/commit fails with 500,
        DELETEs of the session are recorded (GET /_deleted)."""
        n = int(self.headers.get("Content-Length") or 0)
        if self.path.startswith("/v2/ok/chunked/") or self.path.startswith("/v2/ok/redir/"):
            return self.chunked(n)
        if n: self.rfile.read(n)
        if self.headers.get("Authorization") != "Bearer tok-repository:err/upload:pull,push":
            realm = "http://127.0.0.1:%d/token" % self.server.server_port
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', extra={"WWW-Authenticate":
                'Bearer realm="%s",service="fault.test",scope="repository:err/upload:pull,push"' % realm})
        if self.command == "POST":
            return self.send(202, extra={"Location": "/v2/err/upload/blobs/uploads/u1?state=abc"})
        if self.command == "DELETE":
            DELETED.append(self.path)
            return self.send(204)
        return self.send(500, b'{"errors":[{"code":"UNKNOWN","message":"upload store broken"}]}')
    do_POST = do_PATCH = do_PUT = do_DELETE = upload
    def do_GET(self):
        u = urlparse(self.path)
        if u.path == "/token":
            q = parse_qs(u.query)
            if q.get("service") != ["fault.test"] or not q.get("scope"):
                return self.send(400, b'{"error":"bad token request"}')
            if self.headers.get("Authorization") != "Basic " + base64.b64encode(b"bob:pw").decode():
                return self.send(401, b'{"errors":[{"code":"DENIED","message":"bad credentials"}]}')
            tok = "tok-" + q["scope"][0]
            TOKENS.add(tok)
            return self.send(200, json.dumps({"access_token": tok, "expires_in": 300}).encode())
        if (u.path.startswith("/v2/ok/chunked/") or u.path.startswith("/v2/ok/redir/")) and \
                (self.command == "HEAD" or "/uploads/" in u.path):
            return self.chunked(0)
        if u.path == "/_chunks":
            return self.send(200, json.dumps(CHUNKS).encode())
        if u.path == "/_deleted":
            return self.send(200, json.dumps(DELETED).encode())
        if u.path.startswith("/v2/err/upload/blobs/") and self.command == "HEAD":
            if self.headers.get("Authorization", "").startswith("Bearer "):
                return self.send(404)
            return self.upload()
        if u.path.startswith("/cdn/"):
            CDN.append({"host": self.headers.get("Host", ""),
                        "authorization": self.headers.get("Authorization")})
            return self.send(200, BLOBS[u.path[5:]], "application/octet-stream")
        if u.path == "/_cdn":
            return self.send(200, json.dumps(CDN).encode())
        parts = u.path.split("/")
        if u.path == "/v2/":
            return self.challenge(None)
        # /v2/<a>/<b>/(manifests|blobs)/<ref>
        if len(parts) != 6 or parts[1] != "v2":
            return self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}')
        repo, kind, ref = parts[2] + "/" + parts[3], parts[4], parts[5]
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] != "tok-repository:%s:pull" % repo:
            return self.challenge(repo)
        if repo == "err/500":
            return self.send(500, b'{"errors":[{"code":"UNKNOWN","message":"disk on fire"}]}')
        if repo == "err/drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if kind == "manifests":
            if repo == "err/big":
                body = b'{"schemaVersion":2,"layers":[' + b" " * (5 << 20) + b"]}"
                return self.send(200, body, "application/vnd.oci.image.manifest.v1+json")
            return self.send(200, MAN, "application/vnd.oci.image.manifest.v1+json",
                             {"Docker-Content-Digest": dg(MAN)})
        blob = BLOBS.get(ref)
        if blob is None:
            return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}')
        if repo == "err/trunc" and blob is WASM:
            return self.send(200, blob[:20], "application/octet-stream")
        if repo == "err/digest" and blob is WASM:
            return self.send(200, bytes([blob[0] ^ 1]) + blob[1:], "application/octet-stream")
        if repo in ("err/cut", "err/norange", "err/cutalways") and blob is WASM:
            rng = self.headers.get("Range")
            CUTS[repo] = CUTS.get(repo, 0) + 1
            if repo == "err/cut" and rng:
                start = int(rng.split("=")[1].rstrip("-"))
                return self.send(206, blob[start:], "application/octet-stream",
                                 {"Content-Range": "bytes %d-%d/%d" % (start, len(blob) - 1, len(blob))})
            if repo == "err/norange" and CUTS[repo] > 1:
                return self.send(200, blob, "application/octet-stream")
            self.send_response(200)
            self.send_header("Content-Length", str(len(blob)))
            self.end_headers()
            if repo != "err/cutalways":
                self.wfile.write(blob[:10]); self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if repo == "ok/cdn":
            # Another host name for the same loopback server, as registries
            # redirect blobs to a CDN.
            return self.send(307, b"", extra={"Location": "http://localhost:%d/cdn/%s"
                                              % (self.server.server_port, ref)})
        return self.send(200, blob, "application/octet-stream")

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_port, flush=True)
srv.serve_forever()
