"""Provider-independent machinery shared by the crmsync CRM emulators.

A provider module (hubspot.py, salesforce.py, ...) defines `create(options)`
returning an object with this interface (see hubspot.py for the reference):

    name                     provider name, e.g. "hubspot"
    credentials(url)         the demo credentials line: "NAME=VALUE NAME=VALUE"
    handle(req)              -> Response for a CRM request (auth, limits, routing)
    fault_response(req, status, rule) -> Response with the provider's realistic
                             error body for an injected status (429, 5xx, ...)
    expire_token(req)        -> Response: the provider's "token expired" answer,
                             marking the request's token expired where it can
    records(obj)             -> list of JSON-able dicts (control API), None if unknown
    touch(obj, body)         -> JSON-able summary, None if the object is unknown
    reset()                  back to the seeded state
    account                  "sandbox" (default) or "production": the account the
                             emulator plays, where the API tells (set by run.py
                             --account and POST /_emulator/account)
    redact_path(path)        path with credentials replaced by REDACTED

Everything here is stdlib only (Python 3.11).
"""

import base64
import collections
import datetime as _dt
import http.server
import json
import random
import re
import socket
import socketserver
import threading
import time
import traceback
import unicodedata
import urllib.parse
import uuid

JSON_TYPE = "application/json;charset=utf-8"
NDJSON_TYPE = "application/x-ndjson;charset=utf-8"
REDACTED = "REDACTED"
# Keys whose values never reach the request log (bodies, forms and queries).
SECRET_KEYS = frozenset((
    "authorization", "client_secret", "refresh_token", "access_token", "code",
    "password", "api_key", "apikey", "hapikey", "api_token", "token", "session_id",
))
REQUEST_LOG_MAX = 200_000  # bounded so a long benchmark cannot eat all memory


# --------------------------------------------------------------------- time

class Clock:
    """Wall clock in epoch milliseconds, shiftable by the control API."""

    def __init__(self):
        self.offset_ms = 0

    def now_ms(self):
        return int(time.time() * 1000) + self.offset_ms

    def now_iso(self):
        return iso_ms(self.now_ms())


def iso_ms(ms):
    """Epoch ms -> '2026-11-20T08:00:00.512Z'."""
    s, frac = divmod(int(ms), 1000)
    t = time.gmtime(s)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, frac)


_DIGITS = re.compile(r"^-?\d+$")


def parse_time(value):
    """Epoch ms (number or digit string), ISO-8601 datetime or date -> epoch ms, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    s = str(value).strip()
    if _DIGITS.match(s):
        return int(s)
    try:
        if len(s) == 10:
            d = _dt.date.fromisoformat(s)
            return int(_dt.datetime(d.year, d.month, d.day, tzinfo=_dt.timezone.utc).timestamp() * 1000)
        d = _dt.datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.timezone.utc)
    return int(round(d.timestamp() * 1000))


def new_uuid():
    return str(uuid.uuid4())


# ------------------------------------------------------------- cursors

def encode_cursor(value):
    """An opaque cursor: base64 of the value plus a newline (HubSpot's style)."""
    return base64.b64encode(("%s\n" % value).encode()).decode()


def decode_cursor(cursor):
    """Inverse of encode_cursor; tolerates URL-encoding (once or twice). None if bad."""
    s = cursor or ""
    for _ in range(3):
        if "%" not in s:
            break
        s = urllib.parse.unquote(s)
    try:
        return base64.b64decode(s.encode(), validate=True).decode().strip()
    except (ValueError, UnicodeDecodeError):
        return None


# -------------------------------------------------------- request/response

class Request:
    """One parsed HTTP request."""

    __slots__ = ("method", "path", "raw_query", "query", "headers", "body", "_json", "form", "ctx")

    def __init__(self, method, target, headers, body):
        self.method = method
        path, _, self.raw_query = target.partition("?")
        self.path = urllib.parse.unquote(path) if "%" in path else path
        self.query = urllib.parse.parse_qs(self.raw_query, keep_blank_values=True) if self.raw_query else {}
        self.headers = headers
        self.body = body
        self._json = _UNSET
        self.form = None
        self.ctx = {}  # free for the provider (correlation id, token, ...)

    def arg(self, name, default=None):
        """First raw value of a query parameter."""
        v = self.query.get(name)
        return v[0] if v else default

    def args(self, name):
        """All values of a repeated and/or comma-separated parameter, merged."""
        out = []
        for v in self.query.get(name, ()):
            out.extend(x for x in v.split(",") if x != "")
        return out

    def flag(self, name, default=False):
        v = self.arg(name)
        return default if v is None else v.strip().lower() == "true"

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def bearer(self):
        auth = self.headers.get("Authorization") or ""
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        return None

    def json(self):
        """Parsed JSON body; raises BadJson (with a line/column message)."""
        if self._json is _UNSET:
            if not self.body:
                raise BadJson("No content to map due to end-of-input", 1, 1)
            try:
                self._json = json.loads(self.body)
            except (ValueError, UnicodeDecodeError) as e:
                raise BadJson(getattr(e, "msg", str(e)), getattr(e, "lineno", 1), getattr(e, "colno", 1))
        return self._json

    def form_fields(self):
        """application/x-www-form-urlencoded body as {name: first value}."""
        if self.form is None:
            try:
                pairs = urllib.parse.parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                pairs = []
            self.form = {}
            for k, v in pairs:
                self.form.setdefault(k, v)
        return self.form

    def log_body(self):
        """The body for the request log: parsed JSON or form, secrets redacted, else None."""
        if not self.body:
            return None
        ctype = (self.headers.get("Content-Type") or "").lower()
        if "x-www-form-urlencoded" in ctype:
            return redact(self.form_fields())
        try:
            return redact(self.json())
        except BadJson:
            return None


_UNSET = object()


class BadJson(Exception):
    def __init__(self, msg, line, col):
        super().__init__(msg)
        self.msg, self.line, self.col = msg, line, col


class Response:
    __slots__ = ("status", "body", "headers", "fault")

    def __init__(self, status, body=b"", headers=None):
        self.status = status
        self.body = body
        self.headers = headers if headers is not None else []
        self.fault = None  # "drop" | "drop_mid_body" | None


def json_response(status, obj, headers=None):
    body = obj if isinstance(obj, bytes) else dumps(obj)
    h = [("Content-Type", JSON_TYPE)]
    if headers:
        h.extend(headers)
    return Response(status, body, h)


def empty_response(status=204, headers=None):
    return Response(status, b"", list(headers or ()))


def raw_response(status, body, content_type, headers=None):
    if isinstance(body, str):
        body = body.encode("utf-8")
    return Response(status, body, [("Content-Type", content_type)] + list(headers or ()))


def dumps(obj):
    """Compact UTF-8 JSON (non-ASCII sent raw, as real CRMs do)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class HttpError(Exception):
    """Raise from a handler to answer with `response`."""

    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


def redact(value):
    if isinstance(value, dict):
        return {k: (REDACTED if str(k).lower() in SECRET_KEYS and v not in (None, "") else redact(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def redact_query(query):
    """{name: [values]} -> {name: "v"} (repeated values joined by ','), secrets redacted."""
    out = {}
    for k, vs in query.items():
        out[k] = REDACTED if k.lower() in SECRET_KEYS else ",".join(vs)
    return out


# ------------------------------------------------------------------ routing

class Router:
    """Routes (method, regex on the path) to handlers called as fn(req, *groups)."""

    def __init__(self):
        self.routes = []

    def add(self, method, pattern, fn):
        self.routes.append((method, re.compile("^" + pattern + "$"), fn))

    def route(self, method, pattern):
        def deco(fn):
            self.add(method, pattern, fn)
            return fn
        return deco

    def match(self, method, path):
        """(handler, groups), or (None, path_exists_for_other_method)."""
        other = False
        for m, rx, fn in self.routes:
            g = rx.match(path)
            if g:
                if m == method:
                    return fn, g.groups()
                other = True
        return None, other


# ------------------------------------------------------------ rate limits

class RollingWindow:
    """At most `limit` hits per key in any rolling `window_s` seconds."""

    def __init__(self, limit, window_s):
        self.limit = limit
        self.window = window_s
        self.hits = collections.defaultdict(collections.deque)

    def _trim(self, key, now):
        q = self.hits[key]
        edge = now - self.window
        while q and q[0] <= edge:
            q.popleft()
        return q

    def hit(self, key, enforce=True):
        """Record a hit. Returns (allowed, remaining); refused hits are not recorded."""
        now = time.monotonic()
        q = self._trim(key, now)
        if enforce and len(q) >= self.limit:
            return False, 0
        q.append(now)
        return True, max(0, self.limit - len(q))

    def remaining(self, key):
        return max(0, self.limit - len(self._trim(key, time.monotonic())))

    def reset(self):
        self.hits.clear()


class DailyCounter:
    """Calls per day, the day boundary at midnight of a fixed UTC offset."""

    def __init__(self, limit, clock, utc_offset_ms=0):
        self.limit = limit
        self.clock = clock
        self.offset = utc_offset_ms
        self.day = None
        self.used = 0

    def _roll(self):
        day = (self.clock.now_ms() + self.offset) // 86_400_000
        if day != self.day:
            self.day, self.used = day, 0

    def hit(self, enforce=True):
        """Returns (allowed, remaining)."""
        self._roll()
        if enforce and self.used >= self.limit:
            return False, 0
        self.used += 1
        return True, max(0, self.limit - self.used)

    def remaining(self):
        self._roll()
        return max(0, self.limit - self.used)

    def resets_at_ms(self):
        self._roll()
        return (self.day + 1) * 86_400_000 - self.offset

    def reset(self):
        self.day, self.used = None, 0


# ------------------------------------------------------------------ faults

class Faults:
    """Queue of injected-failure rules, consumed in order by matching requests.

    A rule: {"match": REGEX on "METHOD PATH", "times": N (default 1), and what
    it does to each of the next N matching requests}:
      "status": 429|500|503...  the provider's own error answer instead
      "retry_after": S          with a Retry-After header
      "body": TEXT              this answer instead (with "status", default 200,
                                and "content_type")
      "delay_ms": N             answer late
      "touch": [OBJECT, BODY]   a server-side change (as POST /_emulator/touch/OBJECT
                                with BODY) made just before this request is
                                served: a record edited mid-scan, at a known page
      "drop": true              close the connection, no answer
      "drop_mid_body": true     close it halfway through the answer's body
      "expire_token": true      the provider's "token expired" answer
      "after_process": true     the request is served first (its writes
                                happen), then the fault answers
      "rewrite": [REGEX, REPLACEMENT] (or a list of such pairs)
                                the provider's real answer, its body changed
                                by re.sub; in REPLACEMENT, {n} is how many
                                answers this rule has rewritten, this one
                                included (1, 2, ...), so a case can forge
                                paging cursors that never repeat
      "rewrite_header": [NAME, REGEX, REPLACEMENT]
                                likewise for the answer's header NAME
    A rule with none of these only counts: it lets N requests through
    untouched, so the next rule acts on the N+1st."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def add(self, rules):
        if isinstance(rules, dict):
            rules = [rules]
        if not isinstance(rules, list):
            raise ValueError("faults: expected a JSON list of rules")
        parsed = []
        for r in rules:
            if not isinstance(r, dict):
                raise ValueError("faults: every rule must be an object")
            rule = dict(r)
            rule["_rx"] = re.compile(rule.get("match") or ".*")
            rule["times"] = int(rule.get("times", 1))
            rw = rule.get("rewrite")
            if rw is not None:
                pairs = rw if rw and isinstance(rw[0], list) else [rw]
                if not all(isinstance(x, list) and len(x) == 2 for x in pairs):
                    raise ValueError("faults: rewrite is [REGEX, REPLACEMENT] or a list of them")
                rule["_rw"] = [(re.compile(a), b) for a, b in pairs]
            rh = rule.get("rewrite_header")
            if rh is not None:
                if not (isinstance(rh, list) and len(rh) == 3):
                    raise ValueError("faults: rewrite_header is [NAME, REGEX, REPLACEMENT]")
                rule["_rh"] = (rh[0].lower(), re.compile(rh[1]), rh[2])
            rule["_n"] = 0
            parsed.append(rule)
        with self.lock:
            self.rules.extend(parsed)
        return len(parsed)

    def take(self, method, path):
        subject = method + " " + path
        with self.lock:
            for i, r in enumerate(self.rules):
                if r["_rx"].search(subject):
                    r["times"] -= 1
                    if r["times"] <= 0:
                        del self.rules[i]
                    return r
        return None

    def pending(self):
        with self.lock:
            return [{k: v for k, v in r.items() if not k.startswith("_")} for r in self.rules]

    def clear(self):
        with self.lock:
            self.rules.clear()


# ------------------------------------------------------------ the server

class App:
    """Glue: control API, fault engine, latency, request log around a provider."""

    def __init__(self, provider, clock, latency_ms=0):
        self.provider = provider
        self.clock = clock
        self.latency = latency_ms / 1000.0
        self.faults = Faults()
        self.log = collections.deque(maxlen=REQUEST_LOG_MAX)
        self.log_lock = threading.Lock()
        self.generation = 0   # bumped by reset: requests from before it are stale
        self.url = None
        self.serving = 0      # API requests being served now (the log's "inflight")

    # one request -> one Response (or a fault marker on it)
    def serve(self, req):
        if req.path.startswith("/_emulator/") or req.path == "/_emulator":
            return self.control(req)
        with self.log_lock:
            self.serving += 1
            inflight = self.serving
        try:
            return self.serve_api(req, inflight)
        finally:
            with self.log_lock:
                self.serving -= 1

    def serve_api(self, req, inflight):
        gen = self.generation
        if self.latency:
            time.sleep(self.latency)
        rule = self.faults.take(req.method, req.path)
        if rule and rule.get("delay_ms"):
            time.sleep(float(rule["delay_ms"]) / 1000.0)
        if rule and isinstance(rule.get("touch"), list) and len(rule["touch"]) == 2:
            self.provider.touch(rule["touch"][0], rule["touch"][1] or {})
        if gen != self.generation:
            # A request that was still waiting when the state was reset (its
            # client long gone): it must not touch the new state or its log.
            return json_response(503, {"error": "emulator was reset"})
        acts = rule and any(rule.get(k) for k in ("status", "drop", "expire_token", "body"))
        if acts and not rule.get("after_process"):
            resp = self.fault(req, rule)
        else:
            resp = self.call_provider(req)
            if acts:
                resp = self.fault(req, rule)
        if rule and ("_rw" in rule or "_rh" in rule) and resp.fault is None:
            self.rewrite(resp, rule)
        if rule and rule.get("drop_mid_body") and resp.fault is None:
            resp.fault = "drop_mid_body"
        self.record(req, resp, rule, inflight)
        return resp

    def call_provider(self, req):
        try:
            return self.provider.handle(req)
        except HttpError as e:
            return e.response
        except Exception:  # an emulator bug: say so loudly, answer 500
            traceback.print_exc()
            return json_response(500, {"status": "error", "message": "emulator bug (see its stderr)",
                                       "category": "EMULATOR_BUG", "correlationId": new_uuid()})

    def fault(self, req, rule):
        if rule.get("drop"):
            r = Response(0)
            r.fault = "drop"
            return r
        if rule.get("expire_token"):
            resp = self.provider.expire_token(req)
        elif rule.get("body") is not None:
            resp = raw_response(int(rule.get("status") or 200), rule["body"],
                                rule.get("content_type") or JSON_TYPE)
        else:
            resp = self.provider.fault_response(req, int(rule["status"]), rule)
        if rule.get("retry_after") is not None:
            resp.headers.append(("Retry-After", str(rule["retry_after"])))
        # "headers": {"Location": "..."} adds headers to a "body" or "status" answer.
        for k, v in (rule.get("headers") or {}).items():
            resp.headers.append((str(k), str(v)))
        return resp

    def rewrite(self, resp, rule):
        with self.faults.lock:
            rule["_n"] += 1
            n = str(rule["_n"])
        if "_rw" in rule:
            text = resp.body.decode("utf-8", "surrogateescape") if isinstance(resp.body, bytes) else resp.body
            for rx, rep in rule["_rw"]:
                text = rx.sub(rep.replace("{n}", n), text)
            resp.body = text.encode("utf-8", "surrogateescape")
        if "_rh" in rule:
            name, rx, rep = rule["_rh"]
            resp.headers = [(k, rx.sub(rep.replace("{n}", n), v) if k.lower() == name else v)
                            for k, v in resp.headers]

    def record(self, req, resp, rule, inflight):
        entry = {
            "method": req.method,
            "path": self.provider.redact_path(req.path),
            "query": redact_query(req.query),
            "status": None if resp.fault == "drop" else resp.status,
            "body": req.log_body(),
            "inflight": inflight,  # API requests being served when this one came in, itself included
        }
        if rule:
            entry["fault"] = {k: v for k, v in rule.items() if k != "times" and not k.startswith("_")}
        with self.log_lock:
            self.log.append(entry)

    # ---------------------------------------------------------- control API
    def control(self, req):
        parts = req.path.strip("/").split("/")[1:]
        what = parts[0] if parts else ""
        arg = "/".join(parts[1:])
        try:
            if req.method == "GET" and what == "records" and arg:
                rows = self.provider.records(arg)
                if rows is None:
                    return json_response(404, {"error": "unknown object %r" % arg})
                return ndjson_response(rows)
            if req.method == "GET" and what == "requests":
                with self.log_lock:
                    rows = list(self.log)
                return ndjson_response(rows)
            if what == "faults" and req.method == "POST":
                n = self.faults.add(req.json())
                return json_response(200, {"added": n, "pending": len(self.faults.pending())})
            if what == "faults" and req.method == "GET":
                return json_response(200, self.faults.pending())
            if what == "faults" and req.method == "DELETE":
                self.faults.clear()
                return json_response(200, {"pending": 0})
            if what == "reset" and req.method == "POST":
                self.generation += 1
                self.provider.reset()
                self.faults.clear()
                self.clock.offset_ms = 0
                with self.log_lock:
                    self.log.clear()
                return json_response(200, {"reset": True})
            if what == "touch" and req.method == "POST" and arg:
                out = self.provider.touch(arg, req.json() if req.body else {})
                if out is None:
                    return json_response(404, {"error": "unknown object %r" % arg})
                return json_response(200, out)
            if what == "account" and req.method in ("GET", "POST"):
                # A sandbox/test account or a production one, answered where the
                # CRM's API tells (HubSpot accountType, Salesforce IsSandbox, Zoho org type).
                if req.method == "POST":
                    kind = (req.json() or {}).get("account")
                    if kind not in ("sandbox", "production"):
                        raise ValueError("account must be \"sandbox\" or \"production\"")
                    self.provider.account = kind
                    if hasattr(self.provider, "account_changed"):
                        self.provider.account_changed()
                return json_response(200, {"account": getattr(self.provider, "account", "sandbox")})
            if what == "settings" and req.method == "POST" and hasattr(self.provider, "settings"):
                # An admin's setting of the CRM (SugarCRM's max_list_limit);
                # reset restores the defaults.
                return json_response(200, self.provider.settings(req.json() or {}))
            if what == "clock" and req.method in ("GET", "POST"):
                if req.method == "POST":
                    self.clock.offset_ms = int((req.json() or {}).get("offset_ms", 0))
                return json_response(200, {"offset_ms": self.clock.offset_ms, "now": self.clock.now_iso()})
        except (BadJson, ValueError, TypeError, AttributeError, re.error) as e:
            return json_response(400, {"error": "bad control request: %s" % e})
        except HttpError as e:
            return e.response
        return json_response(404, {"error": "unknown control endpoint %s %s" % (req.method, req.path)})


def ndjson_response(rows):
    body = b"".join(r if isinstance(r, bytes) else dumps(r) + b"\n" for r in rows)
    return raw_response(200, body, NDJSON_TYPE)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "crmsync-emulator"
    sys_version = ""

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, socket.timeout, OSError):
            self.close_connection = True

    def finish(self):
        try:
            super().finish()
        except (ConnectionError, OSError):
            pass

    def log_message(self, *args):  # quiet: the request log is the record
        pass

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _any(self):
        body = self._read_body()
        req = Request(self.command, self.path, self.headers, body)
        resp = self.server.app.serve(req)
        self._send(resp)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    def _send(self, resp):
        if resp.fault == "drop":
            self.close_connection = True
            return
        reason = self.responses.get(resp.status, ("Status",))[0]
        head = ["HTTP/1.1 %d %s" % (resp.status, reason)]
        for k, v in resp.headers:
            head.append("%s: %s" % (k, v))
        if resp.status not in (204, 304):  # RFC 9110: no Content-Length on a 204
            head.append("Content-Length: %d" % len(resp.body))
        if self.close_connection:
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace")
        if resp.fault == "drop_mid_body":
            self.wfile.write(data + resp.body[: len(resp.body) // 2])
            self.close_connection = True
            return
        self.wfile.write(data + resp.body if resp.body else data)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, app):
        self.app = app
        super().__init__(addr, _Handler)

    def handle_error(self, request, client_address):  # no tracebacks on disconnects
        pass


# --------------------------------------------------- seeded fake data

FIRST_NAMES = [
    "Zoë", "José", "Björn", "Łukasz", "Anaïs", "Søren", "Chloé", "Jürgen", "Małgorzata",
    "François", "Siobhán", "Renée", "Zoltán", "Øystein", "Élodie", "Sofía", "Dmitri",
    "Mei", "Aarav", "Olivia", "Liam", "Noah", "Emma", "Hiroshi", "Fatima", "Ingrid",
    "Mateo", "Priya", "Kwame", "Yuki", "Jane", "John", "Ana", "Thảo", "Nikolaj", "Ayşe",
]
LAST_NAMES = [
    "Sørensen", "Nguyễn", "O'Brien", "Müller", "García", "Kowalski", "Smith", "Johansson",
    "Dubois", "Rossi", "Schröder", "Łukaszewicz", "Brontë", "Núñez", "Okafor", "Tanaka",
    "Patel", "van der Berg", "Ó Súilleabháin", "Đorđević", "Öztürk", "Wójcik", "Andersen",
    "Chen", "Silva", "MacDonald", "Fernández", "Kim", "Lefèvre", "Nakamura",
]
COMPANY_WORDS_A = [
    "Acme", "Nordlys", "Blue Harbor", "Zürich", "Kraków", "Globex", "Initech", "Umbrella",
    "Stark", "Wayne", "Hooli", "Pied Piper", "Café Müller", "Øresund", "São Tomé", "Vandelay",
    "Cyberdyne", "Soylent", "Tyrell", "Monarch", "Aperture", "Black Mesa", "Massive Dynamic",
]
COMPANY_WORDS_B = [
    "Robotics", "Analytics", "Logistics", "Foods", "Biotech", "Systems", "Energy", "Media",
    "Consulting", "Labs", "Textiles", "Software", "Holdings", "Maritime", "Ventures",
]
COMPANY_SUFFIXES = ["Inc.", "GmbH", "AS", "Ltd", "S.A.", "sp. z o.o.", "LLC", "", "", "AB", "KK"]
CITIES = [  # city, state/region, postal code, country, region code
    ("Boston", "MA", "02110", "United States", "AMER"),
    ("Austin", "TX", "73301", "United States", "AMER"),
    ("Montréal", "QC", "H2Y 1C6", "Canada", "AMER"),
    ("São Paulo", "SP", "01310-100", "Brazil", "AMER"),
    ("København", "", "1050", "Denmark", "EMEA"),
    ("München", "BY", "80331", "Germany", "EMEA"),
    ("Kraków", "", "30-001", "Poland", "EMEA"),
    ("Zürich", "ZH", "8001", "Switzerland", "EMEA"),
    ("Dublin", "", "D02 X285", "Ireland", "EMEA"),
    ("London", "", "EC1A 1BB", "United Kingdom", "EMEA"),
    ("Hà Nội", "", "100000", "Vietnam", "APAC"),
    ("Tokyo", "", "100-0001", "Japan", "APAC"),
]
STREETS = ["Main Street", "Königsallee", "Rue de Rivoli", "Calle Mayor", "Nørrebrogade",
           "ul. Floriańska", "Baker Street", "Avenida Paulista", "Bahnhofstrasse", "Elm Street"]
_TRANSLIT = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D",
                           "ß": "ss", "æ": "ae", "Æ": "AE", "ı": "i"})


def ascii_slug(text, sep="."):
    """'Łukasz O'Brien' -> 'lukasz.obrien' (for emails and domains)."""
    s = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    s = re.sub(r"[^a-z0-9 ]+", "", s.replace("-", " "))
    return sep.join(s.split())


class Fake:
    """Deterministic fake data from one seeded random stream."""

    def __init__(self, seed, stream=""):
        self.rng = random.Random("%s/%s" % (seed, stream))

    def pick(self, seq):
        return seq[int(self.rng.random() * len(seq))]

    def chance(self, p):
        return self.rng.random() < p

    def int(self, lo, hi):
        return self.rng.randint(lo, hi)

    def first_name(self):
        return self.pick(FIRST_NAMES)

    def last_name(self):
        return self.pick(LAST_NAMES)

    def company_name(self):
        suffix = self.pick(COMPANY_SUFFIXES)
        name = "%s %s" % (self.pick(COMPANY_WORDS_A), self.pick(COMPANY_WORDS_B))
        return name + (" " + suffix if suffix else "")

    def city(self):
        return self.pick(CITIES)

    def street(self):
        return "%d %s" % (self.int(1, 999), self.pick(STREETS))

    def phone(self):
        kind = self.int(0, 2)
        if kind == 0:
            return "+1 (%03d) 555-%04d" % (self.int(201, 989), self.int(100, 9999))
        if kind == 1:
            return "+44 20 7946 %04d" % self.int(0, 9999)
        return "+49 89 %d" % self.int(1000000, 9999999)

    def timestamp(self, lo_ms, hi_ms):
        return self.int(lo_ms, hi_ms)


def parse_records_option(text):
    """'contacts=300,accounts=30' -> {'contacts': 300, 'accounts': 30}."""
    out = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, eq, n = part.partition("=")
        if not eq or not n.strip().isdigit():
            raise ValueError("bad --records entry %r (want OBJECT=N)" % part)
        out[name.strip().lower()] = int(n)
    return out
