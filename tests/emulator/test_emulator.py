#!/usr/bin/env python3
"""Self-test of the emulator launcher and the HubSpot emulator (stdlib only).

    python3 tests/emulator/test_emulator.py [-v]

Starts run.py as a subprocess, talks plain HTTP to it, checks the behaviours
crmsync relies on (hubspot.md) and the control API (CONTRACT.md).
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, "run.py")
AUTH = {"Authorization": "Bearer demo"}


class Emu:
    """One emulator process."""

    def __init__(self, *args):
        self.p = subprocess.Popen([sys.executable, RUN] + list(args), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.line1 = self.p.stdout.readline().strip()
        self.line2 = self.p.stdout.readline().strip()
        m = re.match(r"^listening on http://127\.0\.0\.1:(\d+)$", self.line1)
        if not m:
            self.stop()
            raise AssertionError("bad first line %r (stderr %r)" % (self.line1, self.p.stderr.read()))
        self.port = int(m.group(1))
        self.conn = None

    def stop(self):
        if self.conn:
            self.conn.close()
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.p.stdout.close()
        self.p.stderr.close()

    def raw(self, method, path, body=None, headers=None):
        """(status, headers dict lowercased, body bytes) over one keep-alive connection."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers = dict(headers or {}, **{"Content-Type": "application/json"})
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, data
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def call(self, method, path, body=None, token="demo", headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        status, hdrs, data = self.raw(method, path, body, h)
        return status, hdrs, (json.loads(data) if data else None)

    def control(self, method, what, body=None):
        status, _, data = self.raw(method, "/_emulator/" + what, body)
        return status, data

    def stored(self, obj):
        return [json.loads(l) for l in self.control("GET", "records/" + obj)[1].splitlines() if l.strip()]


def fresh_connection_request(port, method, path):
    """One request on a new connection; returns what the raw socket received."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo\r\n\r\n" % (method, path)).encode())
    got = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        got += chunk
    s.close()
    return got


class Launcher(unittest.TestCase):
    def test_unknown_provider_exits_2(self):
        r = subprocess.run([sys.executable, RUN, "nosuchcrm"], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown provider", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_bad_records_option_exits_2(self):
        r = subprocess.run([sys.executable, RUN, "hubspot", "--records", "widgets=3"], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 2)

    def test_lines_and_clean_sigterm(self):
        e = Emu("hubspot", "--records", "contacts=5,accounts=2,deals=1,leads=1,users=3")
        self.assertEqual(e.line2, "HUBSPOT_ACCESS_TOKEN=demo")
        self.assertEqual(e.call("GET", "/crm/v3/objects/contacts")[0], 200)   # keep-alive connection open
        t = time.time()
        e.p.send_signal(signal.SIGTERM)
        self.assertEqual(e.p.wait(5), 0)
        self.assertLess(time.time() - t, 3)
        self.assertEqual(e.p.stderr.read(), "")
        e.stop()


class HubSpot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.e = Emu("hubspot", "--records", "contacts=600,accounts=30,deals=30,leads=10,users=5",
                    "--rate-limits", "off")

    @classmethod
    def tearDownClass(cls):
        cls.e.stop()

    def setUp(self):
        self.assertEqual(self.e.control("POST", "reset")[0], 200)

    def call(self, *a, **kw):
        return self.e.call(*a, **kw)

    # ------------------------------------------------------------ auth
    def test_auth(self):
        s, h, b = self.call("GET", "/crm/v3/objects/contacts", token=None)
        self.assertEqual((s, b["category"]), (401, "INVALID_AUTHENTICATION"))
        self.assertTrue(b["message"].startswith("Authentication credentials not found."))
        s, _, b = self.call("GET", "/crm/v3/objects/contacts", token="nope")
        self.assertEqual(s, 401)

        form = "grant_type=refresh_token&client_id=demo-client&client_secret=demo-secret&refresh_token=wrong"
        ctype = {"Content-Type": "application/x-www-form-urlencoded"}
        s, _, b = self.call("POST", "/oauth/v1/token", form, token=None, headers=ctype)
        self.assertEqual((s, b["status"]), (400, "BAD_REFRESH_TOKEN"))
        s, _, tok = self.call("POST", "/oauth/v1/token", form.replace("wrong", "demo-refresh"), token=None,
                              headers=ctype)
        self.assertEqual((s, tok["expires_in"], tok["token_type"]), (200, 1800, "bearer"))
        access = tok["access_token"]
        self.assertGreater(len(access), 300)
        self.assertEqual(self.call("GET", "/crm/v3/objects/contacts", token=access)[0], 200)
        s, _, info = self.call("GET", "/oauth/v1/access-tokens/" + access, token=None)
        self.assertEqual((s, info["hub_id"]), (200, 4242))

        self.e.control("POST", "clock", {"offset_ms": 1801 * 1000})
        s, h, b = self.call("GET", "/crm/v3/objects/contacts", token=access)
        self.assertEqual((s, b["category"]), (401, "EXPIRED_AUTHENTICATION"))
        self.assertIn("x-hubspot-auth-failure", h)
        self.assertIn("expire time", b["context"])
        self.assertEqual(self.call("GET", "/crm/v3/objects/contacts")[0], 200)   # demo never expires

        # credentials never reach the request log
        log = self.e.control("GET", "requests")[1].decode()
        self.assertNotIn(access, log)
        self.assertNotIn("demo-secret", log)
        self.assertIn("REDACTED", log)

    def test_account_info(self):
        s, h, b = self.call("GET", "/account-info/v3/details")
        self.assertEqual((s, b["portalId"]), (200, 4242))
        s, h, b = self.call("GET", "/account-info/v3/api-usage/daily/private-apps")
        self.assertEqual(b["results"][0]["currentUsage"], 2)

    # ---------------------------------------------------------- listing
    def test_headers(self):
        s, h, _ = self.call("GET", "/crm/v3/objects/contacts?limit=1")
        self.assertEqual(h["content-type"], "application/json;charset=utf-8")
        self.assertRegex(h["x-hubspot-correlation-id"], r"^[0-9a-f-]{36}$")
        self.assertEqual(h["x-hubspot-ratelimit-max"], "190")
        self.assertEqual(h["x-hubspot-ratelimit-interval-milliseconds"], "10000")
        self.assertIn("x-hubspot-ratelimit-daily-remaining", h)
        s, h, _ = self.call("POST", "/crm/v3/objects/contacts/search", {"limit": 1})
        self.assertEqual(s, 200)
        self.assertFalse([k for k in h if k.startswith("x-hubspot-ratelimit")])

    def walk(self, path):
        out, after = [], None
        while True:
            s, _, b = self.call("GET", path + ("&after=" + after if after else ""))
            self.assertEqual(s, 200, b)
            out.extend(b["results"])
            if "paging" not in b:
                return out
            after = b["paging"]["next"]["after"]
            self.assertTrue(b["paging"]["next"]["link"].startswith("https://api.hubapi.com/"))

    def test_paging_matches_store(self):
        stored = self.e.stored("contacts")
        live = [r for r in stored if not r["archived"]]
        got = self.walk("/crm/v3/objects/contacts?limit=100")
        self.assertEqual([r["id"] for r in got], [r["id"] for r in live])
        self.assertEqual(set(got[0]["properties"]),
                         {"firstname", "lastname", "email", "createdate", "lastmodifieddate", "hs_object_id"})
        self.assertTrue(all(isinstance(v, str) or v is None for r in got for v in r["properties"].values()))
        archived = self.walk("/crm/v3/objects/contacts?limit=100&archived=true")
        self.assertEqual({r["id"] for r in archived}, {r["id"] for r in stored if r["archived"]})
        self.assertTrue(archived and all(r["archived"] and r["archivedAt"] for r in archived))
        s, _, b = self.call("GET", "/crm/v3/objects/contacts?limit=500")
        self.assertEqual(len(b["results"]), 100)   # clamped
        s, _, b = self.call("GET", "/crm/v3/objects/contacts?limit=2&properties=email&properties=nosuch,loyalty_tier")
        self.assertEqual(set(b["results"][0]["properties"]), {"email", "loyalty_tier"})

    def test_shared_timestamps_and_non_ascii(self):
        stored = self.e.stored("contacts")
        block = {r["updatedAt"] for r in stored[250:500]}
        self.assertEqual(len(block), 1)
        self.assertEqual(len({r["updatedAt"] for r in stored[0:25]}), 1)
        self.assertRegex(stored[0]["updatedAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        names = "".join(r["properties"].get("firstname", "") + r["properties"].get("lastname", "") for r in stored)
        self.assertTrue(any(ord(c) > 127 for c in names))
        self.assertTrue(any(r.get("associations", {}).get("companies") for r in stored))
        self.assertTrue(any(r["properties"].get("favourite_colour") for r in stored))

    def test_associations_inline(self):
        s, _, b = self.call("GET", "/crm/v3/objects/contacts?limit=20&associations=companies")
        rows = [r for r in b["results"] if "associations" in r]
        self.assertTrue(rows)
        types = {x["type"] for x in rows[0]["associations"]["companies"]["results"]}
        self.assertEqual(types, {"contact_to_company", "contact_to_company_unlabeled"})

    def test_get_patch_delete(self):
        c = self.e.stored("contacts")[0]
        email = c["properties"]["email"]
        s, _, b = self.call("GET", "/crm/v3/objects/contacts/%s?idProperty=email" % email.upper())
        self.assertEqual((s, b["id"]), (200, c["id"]))
        s, _, b = self.call("GET", "/crm/v3/objects/contacts/99999999")
        self.assertEqual((s, b["message"]), (404, "resource not found"))
        before = b = self.call("GET", "/crm/v3/objects/contacts/" + c["id"])[2]
        time.sleep(0.005)
        s, _, b = self.call("PATCH", "/crm/v3/objects/contacts/" + c["id"], {"properties": {}})
        self.assertEqual(s, 200)
        self.assertGreater(b["updatedAt"], before["updatedAt"])   # a no-op write still bumps
        self.assertEqual(b["properties"]["lastmodifieddate"], b["updatedAt"])
        s, h, b = self.call("DELETE", "/crm/v3/objects/contacts/" + c["id"])
        self.assertEqual((s, b), (204, None))
        self.assertEqual(self.call("GET", "/crm/v3/objects/contacts/" + c["id"])[0], 404)

    # ------------------------------------------------------------ batch
    def test_batch_create_semantics(self):
        base = "/crm/v3/objects/contacts/batch/"
        taken = self.e.stored("contacts")[1]
        ok = {"properties": {"email": "Fresh.One@Example.com", "firstname": "Zoë"}}
        dup = {"properties": {"email": taken["properties"]["email"]}}
        bad = {"properties": {"nosuch": "x"}}
        s, _, b = self.call("POST", base + "create", {"inputs": [ok, dup]})
        self.assertEqual((s, b["category"]), (409, "CONFLICT"))
        self.assertEqual(b["message"], "Contact already exists. Existing ID: " + taken["id"])
        s, _, b = self.call("POST", base + "create", {"inputs": [ok, bad]})
        self.assertEqual((s, b["category"]), (400, "VALIDATION_ERROR"))
        self.assertEqual(b["message"], 'Property values were not valid: [{"isValid":false,"message":"Property '
                                       '\\"nosuch\\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"nosuch"}]')
        self.assertFalse(any(r["properties"].get("email") == "fresh.one@example.com" for r in self.e.stored("contacts")))
        traced = [dict(x, objectWriteTraceId="t%d" % i) for i, x in enumerate([ok, dup, bad])]
        s, _, b = self.call("POST", base + "create", {"inputs": traced})
        self.assertEqual((s, b["status"], b["numErrors"]), (207, "COMPLETE", 2))
        self.assertEqual(b["results"][0]["properties"]["email"], "fresh.one@example.com")
        self.assertEqual(sorted(e["context"]["objectWriteTraceId"][0] for e in b["errors"]), ["t1", "t2"])
        s, _, b = self.call("POST", base + "create", {"inputs": [ok] * 101})
        self.assertEqual(s, 400)
        for props, code in (({"email": "not-an-email"}, "INVALID_EMAIL"), ({"lifecyclestage": "nope"}, "INVALID_OPTION"),
                            ({"createdate": "2020-01-01"}, "READ_ONLY_VALUE")):
            s, _, b = self.call("POST", "/crm/v3/objects/contacts", {"properties": dict(props, firstname="x")})
            self.assertEqual(s, 400)
            self.assertIn('"error":"%s"' % code, b["message"])
        s, _, b = self.call("POST", "/crm/v3/objects/contacts", {"properties": {"firstname": "Only"}})
        self.assertEqual(s, 201)

    def test_batch_update_upsert_read_archive(self):
        base = "/crm/v3/objects/contacts/batch/"
        c = [r for r in self.e.stored("contacts") if not r["archived"]][:2]
        s, _, b = self.call("POST", base + "update", {"inputs": [{"id": c[0]["properties"]["email"],
                                                                  "idProperty": "email", "properties": {}}]})
        self.assertEqual(s, 400)
        self.assertIn("non-unique", b["message"])
        s, _, b = self.call("POST", base + "update", {"inputs": [{"id": c[0]["id"], "properties": {"jobtitle": "CTO"}},
                                                                 {"id": "424242", "properties": {}}]})
        self.assertEqual((s, b["numErrors"], b["errors"][0]["category"]), (207, 1, "OBJECT_NOT_FOUND"))
        s, _, b = self.call("POST", base + "upsert", {"inputs": [
            {"id": c[1]["properties"]["email"], "idProperty": "email", "properties": {"jobtitle": "CEO"}},
            {"id": "brand.new@example.com", "idProperty": "email", "properties": {"firstname": "Nguyễn"}}]})
        self.assertEqual(s, 200)
        self.assertEqual(sorted(r["new"] for r in b["results"]), [False, True])
        s, _, b = self.call("POST", base + "read", {"inputs": [{"id": c[0]["id"]}, {"id": "1"}],
                                                    "properties": ["jobtitle"]})
        self.assertEqual((s, b["results"][0]["properties"]["jobtitle"]), (207, "CTO"))
        self.assertEqual(b["errors"][0]["context"]["ids"], ["1"])
        self.assertNotIn("associations", b["results"][0])
        s, _, b = self.call("POST", base + "read", {"inputs": [{"id": "BRAND.NEW@example.com"}],
                                                    "idProperty": "email", "properties": ["email"]})
        self.assertEqual(s, 200)
        s, _, b = self.call("POST", base + "archive", {"inputs": [{"id": c[0]["id"]}]})
        self.assertEqual((s, b), (204, None))
        self.assertTrue([r for r in self.e.stored("contacts") if r["id"] == c[0]["id"]][0]["archived"])

    def test_create_with_association_and_leads(self):
        company = self.e.stored("companies")[3]["id"]
        s, _, b = self.call("POST", "/crm/v3/objects/contacts", {
            "properties": {"email": "assoc@example.com"},
            "associations": [{"to": {"id": company}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                                                 "associationTypeId": 1}]}]})
        self.assertEqual(s, 201)
        cid = b["id"]
        s, _, got = self.call("GET", "/crm/v3/objects/contacts/%s?associations=companies&properties=associatedcompanyid" % cid)
        self.assertEqual(got["properties"]["associatedcompanyid"], company)
        self.assertEqual(len(got["associations"]["companies"]["results"]), 2)
        s, _, b = self.call("POST", "/crm/v3/objects/leads", {"properties": {"hs_lead_name": "x"}})
        self.assertEqual(s, 400)
        s, _, b = self.call("POST", "/crm/v3/objects/0-136", {
            "properties": {"hs_lead_name": "x"},
            "associations": [{"to": {"id": cid}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                                             "associationTypeId": 578}]}]})
        self.assertEqual(s, 201)

    def test_associations_v4(self):
        contact = [r for r in self.e.stored("contacts") if not r["archived"]][5]["id"]
        company = [r for r in self.e.stored("companies") if not r["archived"]][0]["id"]
        v4 = "/crm/v4/objects/contacts/%s/associations/" % contact
        s, _, b = self.call("PUT", v4 + "default/companies/" + company)
        self.assertEqual((s, b["status"]), (200, "COMPLETE"))
        s, _, b = self.call("PUT", v4 + "companies/" + company,
                            [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}])
        self.assertEqual((s, b["labels"]), (201, ["Primary"]))
        s, _, b = self.call("POST", "/crm/v4/associations/contacts/companies/batch/read", {"inputs": [{"id": contact}]})
        self.assertEqual(s, 200)
        to = [t for t in b["results"][0]["to"] if t["toObjectId"] == company][0]
        self.assertEqual({t["typeId"] for t in to["associationTypes"]}, {1, 279})
        self.assertEqual(self.call("DELETE", v4 + "companies/" + company)[0], 204)
        s, _, b = self.call("GET", "/crm/v4/associations/deals/companies/labels")
        self.assertEqual({r["typeId"] for r in b["results"]}, {5, 341})

    # ------------------------------------------------------------ search
    def test_search(self):
        path = "/crm/v3/objects/contacts/search"
        stored = [r for r in self.e.stored("contacts") if not r["archived"]]
        t = stored[300]["updatedAt"]
        ms = str(int(time.mktime(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone) * 1000 + int(t[20:23]))
        body = {"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "EQ", "value": ms}]}],
                "sorts": [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}], "limit": 100,
                "properties": ["email"]}
        s, _, b = self.call("POST", path, body)
        want = [r["id"] for r in stored if r["updatedAt"] == t]
        self.assertEqual(b["total"], len(want))
        self.assertEqual([r["id"] for r in b["results"]], want[:100])     # ties by id ascending
        self.assertEqual(b["paging"]["next"]["after"], "100")
        self.assertNotIn("associations", b["results"][0])
        s, _, b = self.call("POST", path, {"filterGroups": [{"filters": [
            {"propertyName": "email", "operator": "IN", "values": [stored[0]["properties"]["email"].upper()]}]},
            {"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": stored[1]["id"]}]}]})
        self.assertEqual(sorted(r["id"] for r in b["results"]), sorted([stored[0]["id"], stored[1]["id"]]))
        self.assertEqual(self.call("POST", path, {"limit": 201})[0], 400)
        self.assertEqual(self.call("POST", path, {"after": "10000"})[0], 400)
        s, _, b = self.call("POST", path, {"filterGroups": [{"filters": [
            {"propertyName": "hs_object_id", "operator": "GTE", "value": "1"}]}], "limit": 200})
        self.assertEqual(b["total"], len(stored))   # no archived records in search

    # ------------------------------------------------------ reference data
    def test_properties_pipelines_owners(self):
        s, _, b = self.call("GET", "/crm/v3/properties/0-1")
        props = {p["name"]: p for p in b["results"]}
        self.assertFalse(props["loyalty_tier"]["hubspotDefined"])
        self.assertTrue(props["hs_object_id"]["modificationMetadata"]["readOnlyValue"])
        self.assertFalse(props["associatedcompanyid"]["modificationMetadata"]["readOnlyValue"])
        self.assertEqual(self.call("GET", "/crm/v3/properties/widgets")[0], 404)
        s, _, b = self.call("GET", "/crm/v3/pipelines/deals")
        stages = {x["id"]: x["metadata"] for x in b["results"][0]["stages"]}
        self.assertEqual(stages["closedlost"], {"probability": "0.0", "isClosed": "true"})
        s, _, active = self.call("GET", "/crm/v3/owners")
        s, _, gone = self.call("GET", "/crm/v3/owners/?archived=true&limit=100")
        self.assertEqual(len(active["results"]) + len(gone["results"]), 5)
        self.assertTrue(gone["results"] and all(o["archived"] for o in gone["results"]))
        s, _, o = self.call("GET", "/crm/v3/owners/" + active["results"][0]["id"])
        self.assertEqual(s, 200)

    # ------------------------------------------------------------- lists
    def test_lists(self):
        s, _, b = self.call("POST", "/crm/v3/lists/search", {"query": "", "count": 2})
        self.assertEqual((b["total"], len(b["lists"]), b["hasMore"]), (5, 2, True))
        s, _, b = self.call("POST", "/crm/v3/lists/search", {"processingTypes": ["DYNAMIC"]})
        dyn = b["lists"][0]
        self.assertGreater(int(dyn["additionalProperties"]["hs_list_size"]), 0)
        s, _, b = self.call("PUT", "/crm/v3/lists/%s/memberships/add" % dyn["listId"], ["101"])
        self.assertEqual(s, 400)
        live = [r["id"] for r in self.e.stored("contacts") if not r["archived"]]
        s, _, b = self.call("PUT", "/crm/v3/lists/5/memberships/add", live[:3] + ["1"])
        self.assertEqual(b, {"recordsIdsAdded": live[:3], "recordIdsRemoved": [], "recordIdsMissing": ["1"]})
        s, _, b = self.call("GET", "/crm/v3/lists/5/memberships?limit=2")
        self.assertEqual([m["recordId"] for m in b["results"]], live[:2])
        s, _, b2 = self.call("GET", "/crm/v3/lists/5/memberships?limit=2&after=" + b["paging"]["next"]["after"])
        self.assertEqual([m["recordId"] for m in b2["results"]], live[2:3])
        s, _, b = self.call("PUT", "/crm/v3/lists/5/memberships/remove", [live[0]])
        self.assertEqual(b["recordIdsRemoved"], [live[0]])
        s, _, b = self.call("GET", "/crm/v3/lists/5")
        self.assertEqual(b["list"]["size"], 2)
        s, _, b = self.call("POST", "/crm/v3/lists", {"name": "Mine", "objectTypeId": "0-1", "processingType": "MANUAL"})
        self.assertEqual(s, 200)
        self.assertEqual(self.call("DELETE", "/crm/v3/lists/" + b["list"]["listId"])[0], 204)

    # ---------------------------------------------------- errors, control
    def test_errors(self):
        s, h, b = self.call("POST", "/crm/v3/objects/contacts", "{not json")
        self.assertEqual((s, b["category"]), (400, "VALIDATION_ERROR"))
        self.assertTrue(b["message"].startswith("Invalid input JSON on line 1"))
        s, h, b = self.call("GET", "/crm/v3/nothing/here")
        self.assertEqual((s, b["status"]), (404, "error"))

    def test_faults(self):
        e = self.e
        e.control("POST", "faults", [{"match": "GET /crm/v3/objects/contacts$", "status": 429},
                                     {"match": "companies", "status": 503, "retry_after": 2, "times": 2}])
        s, h, b = self.call("GET", "/crm/v3/objects/contacts")
        self.assertEqual((s, b["policyName"], b["errorType"]), (429, "TEN_SECONDLY_ROLLING", "RATE_LIMIT"))
        self.assertEqual(b["message"], "You have reached your ten_secondly_rolling limit.")
        self.assertNotIn("retry-after", h)
        self.assertEqual(self.call("GET", "/crm/v3/objects/contacts")[0], 200)
        for _ in range(2):
            s, h, b = self.call("GET", "/crm/v3/objects/companies")
            self.assertEqual((s, h.get("retry-after")), (503, "2"))
        self.assertEqual(self.call("GET", "/crm/v3/objects/companies")[0], 200)
        self.assertEqual(json.loads(e.control("GET", "faults")[1]), [])

        e.control("POST", "faults", [{"match": "contacts", "drop": True}])
        got = fresh_connection_request(e.port, "GET", "/crm/v3/objects/contacts")
        self.assertEqual(got, b"")
        e.control("POST", "faults", [{"match": "contacts", "drop_mid_body": True}])
        got = fresh_connection_request(e.port, "GET", "/crm/v3/objects/contacts?limit=50")
        head, _, body = got.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        self.assertTrue(head.startswith(b"HTTP/1.1 200") and 0 < len(body) < length)

        e.control("POST", "faults", [{"match": "contacts", "status": 200, "body": "<html>oops</html>",
                                      "content_type": "text/html"}])
        status, hdrs, raw = e.raw("GET", "/crm/v3/objects/contacts", headers=AUTH)
        self.assertEqual((status, hdrs["content-type"], raw), (200, "text/html", b"<html>oops</html>"))
        e.control("POST", "faults", [{"match": "contacts", "expire_token": True}])
        s, h, b = self.call("GET", "/crm/v3/objects/contacts")
        self.assertEqual((s, b["category"]), (401, "EXPIRED_AUTHENTICATION"))

        before = len(e.stored("contacts"))
        e.control("POST", "faults", [{"match": "POST .*/batch/create", "status": 502, "after_process": True}])
        s, _, _ = self.call("POST", "/crm/v3/objects/contacts/batch/create",
                            {"inputs": [{"properties": {"email": "lost.answer@example.com"}}]})
        self.assertEqual(s, 502)
        self.assertEqual(len(e.stored("contacts")), before + 1)   # the write happened anyway

        e.control("POST", "faults", [{"match": "deals", "delay_ms": 300}])
        t = time.time()
        self.assertEqual(self.call("GET", "/crm/v3/objects/deals")[0], 200)
        self.assertGreaterEqual(time.time() - t, 0.3)

    def test_request_log_reset_touch(self):
        e = self.e
        self.call("POST", "/crm/v3/objects/contacts/batch/read?archived=false",
                  {"inputs": [{"id": "101"}], "properties": ["email"]})
        self.call("GET", "/crm/v3/objects/contacts?limit=3&properties=email&properties=phone")
        log = [json.loads(l) for l in e.control("GET", "requests")[1].splitlines()]
        self.assertEqual([x["method"] for x in log], ["POST", "GET"])
        self.assertEqual(log[0]["body"], {"inputs": [{"id": "101"}], "properties": ["email"]})
        self.assertEqual(log[0]["query"], {"archived": "false"})
        self.assertEqual(log[1]["query"], {"limit": "3", "properties": "email,phone"})
        self.assertEqual(log[1]["status"], 200)

        c = e.stored("contacts")[2]
        s, out = e.control("POST", "touch/contacts", {"ids": [c["id"]], "properties": {"jobtitle": "Changed"}})
        after = [r for r in e.stored("contacts") if r["id"] == c["id"]][0]
        self.assertEqual(after["properties"]["jobtitle"], "Changed")
        self.assertGreater(after["updatedAt"], c["updatedAt"])
        e.control("POST", "reset")
        again = [r for r in e.stored("contacts") if r["id"] == c["id"]][0]
        self.assertEqual(again, c)
        self.assertEqual(e.control("GET", "requests")[1], b"")
        self.assertEqual(len(e.stored("users")), 5)


class RateLimits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.e = Emu("hubspot", "--records", "contacts=20,accounts=2,deals=1,leads=1,users=2",
                    "--burst", "5", "--daily-limit", "12")

    @classmethod
    def tearDownClass(cls):
        cls.e.stop()

    def test_limits(self):
        e = self.e
        statuses = [e.call("GET", "/crm/v3/objects/contacts?limit=1") for _ in range(6)]
        self.assertEqual([s for s, _, _ in statuses], [200] * 5 + [429])
        s, h, b = statuses[-1]
        self.assertEqual(b["policyName"], "TEN_SECONDLY_ROLLING")
        self.assertNotIn("retry-after", h)
        self.assertEqual(statuses[4][1]["x-hubspot-ratelimit-remaining"], "0")
        search = [e.call("POST", "/crm/v3/objects/contacts/search", {"limit": 1}) for _ in range(6)]
        self.assertEqual([s for s, _, _ in search], [200] * 5 + [429])
        self.assertEqual(search[-1][2]["message"], "You have reached your secondly limit.")
        self.assertFalse([k for k in search[-1][1] if k.startswith("x-hubspot-ratelimit")])
        time.sleep(1.05)
        s, h, b = e.call("POST", "/crm/v3/objects/contacts/search", {"limit": 1})   # 11th counted call
        self.assertEqual(s, 200)
        s, h, b = e.call("POST", "/crm/v3/objects/contacts/search", {"limit": 1})   # 12th
        s, h, b = e.call("POST", "/crm/v3/objects/contacts/search", {"limit": 1})
        self.assertEqual((s, b["policyName"]), (429, "DAILY"))


if __name__ == "__main__":
    unittest.main()
