"""Pipedrive emulator for crmsync.

Speaks the wire protocol of ../../../shared/api/pipedrive.md (section numbers
below refer to it): API v2 cursor lists for persons, organizations and deals,
v1 start/limit lists for leads, users, fields, filters and recents, search,
single-record writes (Pipedrive has no batch writes), hash-keyed custom
fields, the token-budget rate limit with its headers and 429s, API-token
(x-api-token header or ?api_token=) and OAuth bearer auth with a refresh
endpoint, and Pipedrive's error envelopes.  v1 answers under /v1 and /api/v1,
v2 under /api/v2, so the official SDK works with any of its base paths (§14);
sdk/pipedrive_sdk_check.mjs runs the `pipedrive` npm client against it unchanged.
Facts marked "unverified" are choices where pipedrive.md is silent or unsure.
"""

import base64
import copy
import hashlib
import json
import re
import secrets
import threading
import time
import uuid

import core
from core import (HttpError, BadJson, Fake, Router, RollingWindow, json_response, parse_time,
                  new_uuid, ascii_slug)

# ====================================================================== facts

COMPANY_ID = 7713
COMPANY_NAME = "Crmsync Demo Ørsted"
COMPANY_DOMAIN = "crmsync-demo"
DEMO_TOKEN = "demo"
OAUTH_CLIENT_ID = "demo-client"
OAUTH_CLIENT_SECRET = "demo-secret"
OAUTH_REFRESH_TOKEN = "demo-refresh"
TOKEN_TTL_S = 3600                          # §1: expires_in ~3600

# §9: Growth plan (multiplier 2) with 5 seats: 30,000 x 2 x 5 tokens a day;
# burst per rolling 2 s: 40 for API tokens, 160 for OAuth apps; search 10 / 2 s.
PLAN_MULTIPLIER, SEATS = 2, 5
DAILY_TOKENS = 30_000 * PLAN_MULTIPLIER * SEATS
BURST_TOKEN, BURST_OAUTH, BURST_WINDOW_S = 40, 160, 2.0
SEARCH_BURST = 10
# §9 token costs (v2 halves v1).
COST = {("v1", "get"): 2, ("v1", "list"): 20, ("v1", "write"): 10, ("v1", "delete"): 6, ("v1", "search"): 40,
        ("v2", "get"): 1, ("v2", "list"): 10, ("v2", "write"): 5, ("v2", "delete"): 3, ("v2", "search"): 20,
        ("v2", "fields"): 10, ("v1", "fields"): 20}

V2_LIMIT_DEFAULT, V2_LIMIT_MAX = 100, 500   # §2.1
V1_LIMIT_DEFAULT, V1_LIMIT_MAX = 100, 500
IDS_MAX = 100
LEAD_SORT_KEYS = ("id", "title", "owner_id", "creator_id", "was_seen", "expected_close_date",
                  "next_activity_id", "add_time", "update_time")
CUSTOM_FIELDS_QUERY_MAX = 15
RECENTS_REACH_DAYS = 31                     # §12.4: /recents reaches back about a month
DELETED_REACH_DAYS = 30                     # §11: deleted records are purged after 30 days

ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."
GATEWAY_INFO = "Please check developers.pipedrive.com"
HEX40 = re.compile(r"^[0-9a-f]{40}$")

T = parse_time
CREATED_RANGE = (T("2025-01-01T00:00:00Z"), T("2025-12-31T23:59:59Z"))
UPDATED_RANGE = (T("2026-01-05T00:00:00Z"), T("2026-09-30T23:59:59Z"))


def field_hash(obj, name):
    """Custom field keys are 40-hex hashes, different per company (§5)."""
    return hashlib.sha1(("%d/%s/%s" % (COMPANY_ID, obj, name)).encode()).hexdigest()


def iso_s(ms):
    """v2 timestamps: RFC 3339, second precision, Z (§2.2)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(ms) // 1000))


def v1_time(ms):
    """v1 timestamps: 'YYYY-MM-DD HH:MM:SS' UTC, no zone (§2.2)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(ms) // 1000))


def opt(*labels, start=1):
    return [{"id": start + i, "label": lbl} for i, lbl in enumerate(labels)]


PERSON_LABELS = [{"id": 1, "label": "Customer", "color": "green"}, {"id": 2, "label": "Hot lead", "color": "red"},
                 {"id": 3, "label": "Warm lead", "color": "yellow"}, {"id": 4, "label": "Cold lead", "color": "blue"},
                 {"id": 5, "label": "Newsletter — Zoë's picks", "color": "purple"}]
ORG_LABELS = [{"id": 6, "label": "Key account", "color": "green"}, {"id": 7, "label": "Partner", "color": "blue"}]
# Lead labels (§15 "Lead labels"): a new company has Hot, Warm and Cold (the UI's defaults;
# ids are UUIDs, colours from the SDK's enum).  The nearest thing to a lead status.
LEAD_LABELS = [{"id": "f08b42a0-4e75-11ea-9643-03698ef1cfd6", "name": "Hot", "color": "red"},
               {"id": "f08b42a1-4e75-11ea-9643-03698ef1cfd6", "name": "Warm", "color": "yellow"},
               {"id": "f08b42a2-4e75-11ea-9643-03698ef1cfd6", "name": "Cold", "color": "blue"}]
COLOURS = opt("Teal", "Red", "Green", "Ochre", start=31)
REGIONS = opt("EMEA", "AMER", "APAC", start=41)
SOURCES = opt("Website", "Referral", "Partner", "Trade show", start=51)
INDUSTRIES = opt("Software", "Logistics", "Food & beverages", "Biotech", "Energy", "Media", start=61)

PIPELINES = [
    {"id": 1, "name": "Sales pipeline", "stages": [(1, "Qualified", 10), (2, "Contact made", 20),
                                                   (3, "Demo scheduled", 40), (4, "Proposal made", 60),
                                                   (5, "Negotiations started", 80)]},
    {"id": 2, "name": "Renewals — Ørsted region", "stages": [(6, "Renewal due", 50), (7, "Negotiation", 70),
                                                             (8, "Signed", 90)]},
]
STAGES = {s[0]: {"id": s[0], "name": s[1], "deal_probability": s[2], "pipeline_id": p["id"], "order_nr": i + 1,
                 "is_deleted": False, "rotten_flag": False, "rotten_days": None,
                 "add_time": "2024-03-01T09:00:00Z", "update_time": "2024-03-01T09:00:00Z"}
          for p in PIPELINES for i, s in enumerate(p["stages"])}


class Field:
    """One field definition: standard (plain code) or custom (hash code)."""

    def __init__(self, obj, code, name, ftype, custom=False, options=None, mandatory=False, ro=False,
                 subfields=None):
        self.obj, self.name, self.type = obj, name, ftype
        self.code = field_hash(obj, name) if custom else code
        self.custom, self.options, self.mandatory, self.ro = custom, options, mandatory, ro
        self.subfields = subfields

    def v2(self):
        return {"field_name": self.name, "field_code": self.code, "field_type": self.type,
                "options": self.options, "subfields": self.subfields, "is_custom_field": self.custom,
                "is_optional_response_field": False}

    def v1(self, i):
        key = {"emails": "email", "phones": "phone", "owner_id": "owner_id"}.get(self.code, self.code)
        return {"id": 9000 + i, "key": key, "name": self.name, "order_nr": i, "field_type": self.type,
                "add_time": "2024-03-01 09:00:00", "update_time": "2024-03-01 09:00:00",
                "last_updated_by_user_id": None, "active_flag": True, "edit_flag": self.custom,
                "index_visible_flag": True, "details_visible_flag": True, "add_visible_flag": True,
                "important_flag": False, "bulk_edit_allowed": not self.ro, "searchable_flag": self.custom,
                "filtering_allowed": True, "sortable_flag": True, "mandatory_flag": self.mandatory,
                "options": self.options}


ADDRESS_SUB = [{"field_code": c, "field_name": n, "field_type": "varchar"} for c, n in (
    ("value", "Full address"), ("street_number", "House number"), ("route", "Street/road name"),
    ("locality", "City/town/village/locality"), ("admin_area_level_1", "State/county"),
    ("postal_code", "ZIP/Postal code"), ("country", "Country"))]

FIELDS = {
    "persons": [
        Field("persons", "id", "ID", "int", ro=True),
        Field("persons", "name", "Name", "varchar", mandatory=True),
        Field("persons", "first_name", "First name", "varchar"),
        Field("persons", "last_name", "Last name", "varchar"),
        Field("persons", "org_id", "Organization", "org"),
        Field("persons", "owner_id", "Owner", "user"),
        Field("persons", "emails", "Email", "varchar"),
        Field("persons", "phones", "Phone", "phone"),
        Field("persons", "label", "Label", "set", options=PERSON_LABELS),
        Field("persons", "visible_to", "Visible to", "visible_to"),
        # Contact-sync fields (§2.2): this company has contact sync enabled.
        Field("persons", "job_title", "Job title", "varchar"),
        Field("persons", "postal_address", "Postal address", "address", subfields=ADDRESS_SUB),
        Field("persons", "add_time", "Person created", "date", ro=True),
        Field("persons", "update_time", "Update time", "date", ro=True),
        Field("persons", None, "Loyalty tier", "varchar", custom=True),
        Field("persons", None, "Favourite colour", "enum", custom=True, options=COLOURS),
    ],
    "organizations": [
        Field("organizations", "id", "ID", "int", ro=True),
        Field("organizations", "name", "Name", "varchar", mandatory=True),
        Field("organizations", "owner_id", "Owner", "user"),
        Field("organizations", "address", "Address", "address", subfields=ADDRESS_SUB),
        Field("organizations", "website", "Website", "varchar"),
        Field("organizations", "industry", "Industry", "enum", options=INDUSTRIES),
        Field("organizations", "employee_count", "Number of employees", "int"),
        Field("organizations", "label", "Label", "set", options=ORG_LABELS),
        Field("organizations", "visible_to", "Visible to", "visible_to"),
        Field("organizations", "add_time", "Organization created", "date", ro=True),
        Field("organizations", "update_time", "Update time", "date", ro=True),
        Field("organizations", None, "Sales region", "enum", custom=True, options=REGIONS),
        Field("organizations", None, "Description", "text", custom=True),
    ],
    "deals": [
        Field("deals", "id", "ID", "int", ro=True),
        Field("deals", "title", "Title", "varchar", mandatory=True),
        Field("deals", "value", "Value", "monetary"),
        Field("deals", "currency", "Currency", "varchar"),
        Field("deals", "org_id", "Organization", "org"),
        Field("deals", "person_id", "Contact person", "people"),
        Field("deals", "owner_id", "Owner", "user"),
        Field("deals", "pipeline_id", "Pipeline", "int"),
        Field("deals", "stage_id", "Stage", "stage", options=[{"id": s["id"], "label": s["name"]} for s in STAGES.values()]),
        Field("deals", "status", "Status", "status", options=[{"id": s, "label": s.title()} for s in ("open", "won", "lost", "deleted")]),
        Field("deals", "probability", "Probability", "double"),
        Field("deals", "expected_close_date", "Expected close date", "date"),
        Field("deals", "lost_reason", "Lost reason", "varchar"),
        Field("deals", "visible_to", "Visible to", "visible_to"),
        Field("deals", "add_time", "Deal created", "date", ro=True),
        Field("deals", "update_time", "Update time", "date", ro=True),
        Field("deals", None, "Deal source", "enum", custom=True, options=SOURCES),
    ],
    "leads": [
        Field("leads", "id", "ID", "varchar", ro=True),
        Field("leads", "title", "Title", "varchar", mandatory=True),
        Field("leads", "owner_id", "Owner", "user"),
        Field("leads", "person_id", "Person", "people"),
        Field("leads", "organization_id", "Organization", "org"),
        Field("leads", "value", "Value", "monetary"),
        Field("leads", "expected_close_date", "Expected close date", "date"),
        Field("leads", "label_ids", "Labels", "set"),
        Field("leads", "source_name", "Source", "varchar", ro=True),
        Field("leads", "is_archived", "Archived", "boolean"),
        Field("leads", "add_time", "Lead created", "date", ro=True),
        Field("leads", "update_time", "Update time", "date", ro=True),
        Field("leads", None, "Lead score", "int", custom=True),
    ],
}
CUSTOM = {o: {f.code: f for f in fs if f.custom} for o, fs in FIELDS.items()}
HASH = {(o, f.name): f.code for o, fs in FIELDS.items() for f in fs if f.custom}

WRITABLE = {
    "persons": {"name", "first_name", "last_name", "owner_id", "org_id", "emails", "phones", "visible_to",
                "label_ids", "marketing_status", "custom_fields", "job_title", "postal_address", "notes",
                "birthday", "im", "add_time"},
    "organizations": {"name", "owner_id", "visible_to", "label_ids", "address", "custom_fields", "add_time",
                      "website", "linkedin", "industry", "annual_revenue", "employee_count"},
    "deals": {"title", "value", "currency", "person_id", "org_id", "pipeline_id", "stage_id", "owner_id",
              "status", "probability", "expected_close_date", "lost_reason", "label_ids", "custom_fields",
              "visible_to", "is_deleted", "is_archived", "archive_time", "close_time", "won_time", "lost_time",
              "add_time"},
}
LABELS_OK = {"work", "home", "mobile", "other"}
EMAIL_RX = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SEED_ALIASES = {"accounts": "organizations", "account": "organizations", "orgs": "organizations",
                "organization": "organizations", "contacts": "persons", "contact": "persons",
                "person": "persons", "deal": "deals", "lead": "leads", "user": "users"}


# ================================================================== seeding

def seed(pd, counts, seed_value):
    n_users = counts.get("users", 5)
    n_orgs = counts.get("organizations", 10)
    n_persons = counts.get("persons", 50)
    n_deals = counts.get("deals", 10)
    n_leads = counts.get("leads", 5)

    f = Fake(seed_value, "users")
    users = []
    for i in range(n_users):
        first, last = f.first_name(), f.last_name()
        created = f.timestamp(T("2023-01-01T00:00:00Z"), T("2024-06-30T00:00:00Z"))
        modified = f.timestamp(T("2024-07-01T00:00:00Z"), T("2025-06-30T00:00:00Z"))
        active = not (n_users >= 3 and i == n_users - 1)
        users.append({
            "id": 12001 + i, "name": "%s %s" % (first, last),
            "email": "%s.%s@crmsync-demo.example" % (ascii_slug(first), ascii_slug(last, "")),
            "phone": None, "activated": active, "active_flag": active, "is_deleted": False,
            "role_id": 1, "timezone_name": "Europe/Copenhagen", "timezone_offset": "+01:00",
            "default_currency": "EUR", "locale": "en_US", "lang": 1, "has_created_company": i == 0,
            "icon_url": None, "is_you": i == 0, "is_admin": 1 if i == 0 else 0,
            "created": v1_time(created), "modified": v1_time(modified), "last_login": v1_time(modified),
            "access": [{"app": "sales", "admin": i == 0, "permission_set_id": "sales-regular"}],
        })
    owner_ids = [u["id"] for u in users if u["active_flag"]] or [None]

    def owner(fk):
        return fk.pick(owner_ids)

    def group_times(fk, n, size):
        return [fk.timestamp(*UPDATED_RANGE) // 1000 * 1000 for _ in range((n + size - 1) // size)]

    def deleted_after(fk, updated):
        return updated + fk.int(3600, 20 * 86400) * 1000 if fk.chance(0.04) else None

    # -- organizations
    f = Fake(seed_value, "organizations")
    times = group_times(f, n_orgs, 5)
    orgs, live_orgs = {}, []
    for i in range(n_orgs):
        oid = 501 + i
        name = f.company_name()
        city, state, zipc, country, region = f.city()
        street = f.street()
        created, updated = f.timestamp(*CREATED_RANGE) // 1000 * 1000, times[i // 5]
        dele = deleted_after(f, updated)
        domain = "%s-%d.example.com" % (ascii_slug(" ".join(name.split(" ")[:2]), "-"), oid)
        cf = {}
        if f.chance(0.8):
            cf[HASH[("organizations", "Sales region")]] = [o["id"] for o in REGIONS if o["label"] == region][0]
        if f.chance(0.5):
            cf[HASH[("organizations", "Description")]] = f.pick([
                'Makers of "fine" widgets.\nFamily owned since 1999.', "Zuverlässige Logistik für Europa — seit 1887.",
                "Café, bar & roastery. Ünique beans ☕"])
        orgs[oid] = {
            "id": oid, "name": name, "owner_id": owner(f), "add_time": iso_s(created),
            "update_time": iso_s(dele or updated), "is_deleted": dele is not None, "visible_to": 3,
            "label_ids": [6] if f.chance(0.2) else [],
            "address": {"value": "%s, %s %s, %s" % (street, zipc, city, country), "street_number": street.split(" ")[0],
                        "route": street.split(" ", 1)[1], "locality": city, "admin_area_level_1": state or None,
                        "postal_code": zipc, "country": country, "formatted_address": None,
                        "sublocality": None, "subpremise": None, "admin_area_level_2": None},
            "website": "https://www." + domain if f.chance(0.9) else None, "linkedin": None,
            "industry": f.pick(INDUSTRIES)["id"] if f.chance(0.7) else None, "annual_revenue": None,
            "employee_count": f.pick([5, 12, 48, 150, 420, 1200]) if f.chance(0.7) else None,
            "custom_fields": cf,
        }
        if dele is None:
            live_orgs.append(oid)

    # -- persons (update_time shared by blocks of 25; one block of 250 when >= 500,
    #    of 600 (more than a 500-record page) when >= 1200)
    f = Fake(seed_value, "persons")
    times = group_times(f, n_persons, 25)
    big = f.timestamp(*UPDATED_RANGE) // 1000 * 1000
    titles = ["CTO", "CEO", "VP Sales", "Software Engineer", "Product Manager", None]
    persons, live_persons = {}, []
    for i in range(n_persons):
        pid = 1001 + i
        first, last = f.first_name(), f.last_name()
        org = orgs[f.pick(live_orgs)] if live_orgs and f.chance(0.9) else None
        dom = org["website"][12:] if org and org["website"] else f.pick(["gmail.com", "outlook.example"])
        created = f.timestamp(*CREATED_RANGE) // 1000 * 1000
        block_end = 850 if n_persons >= 1200 else 500
        updated = big if (n_persons >= 500 and 250 <= i < block_end) else times[i // 25]
        dele = deleted_after(f, updated)
        emails = [{"value": "%s.%s.%d@%s" % (ascii_slug(first), ascii_slug(last, ""), pid, dom),
                   "primary": True, "label": "work"}]
        if f.chance(0.1):
            emails.append({"value": "%s.%d@home.example" % (ascii_slug(first), pid), "primary": False,
                           "label": "home"})
        phones = []
        if f.chance(0.8):
            phones.append({"value": f.phone(), "primary": True, "label": f.pick(["work", "mobile"])})
        if f.chance(0.2):
            phones.append({"value": f.phone(), "primary": not phones, "label": "home"})
        cf = {}
        if f.chance(0.3):
            cf[HASH[("persons", "Loyalty tier")]] = f.pick(["Gold", "Silver", "Bronze", "💎 Diamond"])
        if f.chance(0.4):
            cf[HASH[("persons", "Favourite colour")]] = f.pick(COLOURS)["id"]
        labels = sorted({f.pick(PERSON_LABELS)["id"] for _ in range(f.int(0, 2))})
        persons[pid] = {
            "id": pid, "name": "%s %s" % (first, last), "first_name": first, "last_name": last,
            "owner_id": owner(f), "org_id": org["id"] if org else None, "add_time": iso_s(created),
            "update_time": iso_s(dele or updated), "emails": emails, "phones": phones,
            "is_deleted": dele is not None, "visible_to": 3, "label_ids": labels, "picture_id": None,
            "job_title": f.pick(titles), "postal_address": None, "custom_fields": cf,
        }
        if dele is None:
            live_persons.append(pid)

    # -- deals
    f = Fake(seed_value, "deals")
    times = group_times(f, n_deals, 5)
    products = ["Platform licence", "Onboarding", "Support renewal", "Expansion — Nordics", "Pilot"]
    deals = {}
    for i in range(n_deals):
        did = 3001 + i
        pipe = PIPELINES[1] if f.chance(0.2) else PIPELINES[0]
        stage = f.pick(pipe["stages"])
        org = orgs[f.pick(live_orgs)] if live_orgs and f.chance(0.9) else None
        created, updated = f.timestamp(*CREATED_RANGE) // 1000 * 1000, times[i // 5]
        dele = deleted_after(f, updated)
        status = f.pick(["open", "open", "open", "won", "lost"])
        cf = {}
        if f.chance(0.5):
            cf[HASH[("deals", "Deal source")]] = f.pick(SOURCES)["id"]
        deals[did] = {
            "id": did, "title": "%s — %s" % (org["name"] if org else "Direct", f.pick(products)),
            "owner_id": owner(f), "person_id": f.pick(live_persons) if live_persons and f.chance(0.6) else None,
            "org_id": org["id"] if org else None, "pipeline_id": pipe["id"], "stage_id": stage[0],
            "value": f.pick([f.int(1, 200) * 500, round(f.int(10000, 9999999) / 100, 2)]),
            "currency": f.pick(["EUR", "USD", "DKK", "GBP"]), "add_time": iso_s(created),
            "update_time": iso_s(dele or updated), "stage_change_time": iso_s(updated),
            "is_deleted": dele is not None, "is_archived": False, "status": status,
            "probability": f.pick([None, 25, 50, 75]), "lost_reason": "Price" if status == "lost" else None,
            "visible_to": 3, "close_time": iso_s(updated) if status != "open" else None,
            "won_time": iso_s(updated) if status == "won" else None,
            "lost_time": iso_s(updated) if status == "lost" else None,
            "expected_close_date": time.strftime("%Y-%m-%d", time.gmtime(
                f.timestamp(T("2026-01-01T00:00:00Z"), T("2027-03-31T00:00:00Z")) // 1000)),
            "label_ids": [], "origin": "Manually created", "origin_id": None, "channel": None, "channel_id": None,
            "arr": None, "mrr": None, "acv": None, "custom_fields": cf,
        }

    # -- leads (v1; ids are UUIDs, derived from the seed so runs repeat)
    f, fl = Fake(seed_value, "leads"), Fake(seed_value, "lead-labels")
    times = group_times(f, n_leads, 5)
    leads = {}
    for i in range(n_leads):
        lid = str(uuid.UUID(int=f.rng.getrandbits(128), version=4))
        per = persons[f.pick(live_persons)] if live_persons else None
        created, updated = f.timestamp(*CREATED_RANGE) // 1000 * 1000, times[i // 5]
        lead = {
            "id": lid, "title": "%s lead" % (per["name"] if per else "Web"), "owner_id": owner(f),
            "creator_id": owner_ids[0], "person_id": per["id"] if per else None,
            "organization_id": per["org_id"] if per and f.chance(0.7) else None,
            "source_name": f.pick(["API", "Manually created", "Web forms"]), "origin": "ManuallyCreated",
            "origin_id": None, "channel": None, "channel_id": None, "source_deal_id": None,
            "is_archived": f.chance(0.1), "was_seen": f.chance(0.5),
            "value": {"amount": f.int(1, 90) * 100, "currency": "EUR"} if f.chance(0.7) else None,
            "expected_close_date": None, "next_activity_id": None, "add_time": iso_s(created),
            "update_time": iso_s(updated), "visible_to": "3", "cc_email": "crmsync-demo+lead@pipedrivemail.com",
        }
        if f.chance(0.4):
            lead[HASH[("leads", "Lead score")]] = f.int(1, 100)
        # From a stream of their own, so the rest of the seed stays as it was.
        lead["label_ids"] = [fl.pick(LEAD_LABELS)["id"]] if fl.chance(0.6) else []
        leads[lid] = lead

    pd.base = {"users": users, "organizations": orgs, "persons": persons, "deals": deals, "leads": leads}


# ================================================================ provider

FILTER_TYPES = {"people": "persons", "org": "organizations", "deals": "deals", "leads": "leads"}
FILTER_OBJECTS = {"person": "persons", "organization": "organizations", "deal": "deals", "lead": "leads"}
FILTER_OPERATORS = {"=", "!=", "<", ">", "<=", ">=", "IS NULL", "IS NOT NULL", "LIKE '$%'", "LIKE '%$%'",
                    "NOT LIKE '$%'"}
FILTER_MAX_CONDITIONS = 16


class Pipedrive:
    name = "pipedrive"

    def __init__(self, options):
        self.clock = options.clock
        self.enforce = options.rate_limits != "off"
        self.lock = threading.RLock()
        counts = {}
        for k, v in (options.records or {}).items():
            k = SEED_ALIASES.get(k, k)
            if k not in ("users", "organizations", "persons", "deals", "leads", "lists"):
                raise ValueError("pipedrive: unknown object %r in --records (known: contacts, accounts, deals, "
                                 "leads, users)" % k)
            counts[k] = v
        seed(self, counts, options.seed)
        self.burst_override = options.burst
        self.burst = RollingWindow(options.burst or BURST_TOKEN, BURST_WINDOW_S)
        self.burst_oauth = RollingWindow(options.burst or BURST_OAUTH, BURST_WINDOW_S)
        self.search_window = RollingWindow(SEARCH_BURST, BURST_WINDOW_S)
        self.daily_limit = options.daily_limit or DAILY_TOKENS
        self.router = Router()
        self._routes()
        self.reset()

    def credentials(self, url):
        return "PIPEDRIVE_API_TOKEN=%s" % DEMO_TOKEN

    def reset(self):
        with self.lock:
            self.data = copy.deepcopy(self.base)
            self.next_id = {"persons": 1001 + len(self.base["persons"]),
                            "organizations": 501 + len(self.base["organizations"]),
                            "deals": 3001 + len(self.base["deals"])}
            self.deleted_ms = {}        # (object, id) -> when it was deleted here
            self.tokens = {}            # OAuth access token -> {"expires_ms", "forced"}
            self.burst.reset()
            self.burst_oauth.reset()
            self.search_window.reset()
            self.daily_used, self.daily_day = 0, None
            self.user_filters = {}      # id -> saved filter made through POST /v1/filters
            self.next_filter_id = 101

    # ------------------------------------------------------------ plumbing
    def err(self, status, message, headers=None, **extra):
        body = {"success": False, "error": message, "error_info": ERROR_INFO, "data": None, "additional_data": None}
        body.update(extra)
        return json_response(status, body, list(headers or ()))

    def fail(self, status, message, **extra):
        raise HttpError(self.err(status, message, **extra))

    def gateway(self, status, message, headers=()):
        """401/429 come from the gateway, in its own shape (§1, §9)."""
        return json_response(status, {"success": False, "error": message, "errorCode": status,
                                      "error_info": GATEWAY_INFO},
                             [("x-correlation-id", new_uuid())] + list(headers))

    def ok(self, data, additional=None, status=200):
        body = {"success": True, "data": data}
        if additional is not None:
            body["additional_data"] = additional
        return json_response(status, body)

    def body(self, req):
        try:
            b = req.json()
        except BadJson as e:
            self.fail(400, "Invalid JSON in request body: %s" % e.msg)
        if not isinstance(b, dict):
            self.fail(400, "Request body must be a JSON object")
        return b

    def daily_remaining(self):
        day = self.clock.now_ms() // 86_400_000   # resets at midnight server time (UTC here)
        if day != self.daily_day:
            self.daily_day, self.daily_used = day, 0
        return max(0, self.daily_limit - self.daily_used)

    def rate_headers(self, window, key, remaining=None):
        if remaining is None:
            remaining = window.remaining(key)
        return [("x-ratelimit-limit", str(window.limit)), ("x-ratelimit-remaining", str(remaining)),
                ("x-ratelimit-reset", "2"),
                ("x-daily-ratelimit-token-limit", str(self.daily_limit)),
                ("x-daily-ratelimit-token-remaining", str(self.daily_remaining()))]

    def who(self, req):
        """(kind, key) of the request's credentials, or a 401 response.

        The API token wins over a bearer token when both are sent (§14)."""
        tok = req.header("x-api-token") or req.arg("api_token")
        if tok is not None:
            return ("token", tok) if tok == DEMO_TOKEN else None
        bearer = req.bearer()
        if bearer:
            info = self.tokens.get(bearer)
            if info is None or info["forced"] or self.clock.now_ms() >= info["expires_ms"]:
                return None
            return ("oauth", bearer)
        return None

    def handle(self, req):
        path = req.path[:-1] if len(req.path) > 1 and req.path.endswith("/") else req.path
        fn, groups = self.router.match(req.method, path)
        if fn is None:
            return self.err(404 if not groups else 405, "Unknown method ." if not groups else "Method not allowed")
        if getattr(fn, "public", False):
            with self.lock:
                return self._run(fn, req, groups)
        with self.lock:
            who = self.who(req)
            if who is None:
                return self.gateway(401, "unauthorized access", [("x-401-by-gw", "true")])
            kind, key = who
            window = self.burst if kind == "token" else self.burst_oauth
            cost = COST.get(getattr(fn, "cost", ("v2", "get")), 1)
            if self.daily_remaining() < cost and self.enforce:
                return self.gateway(429, "Request over limit", self.rate_headers(window, key))
            if getattr(fn, "search", False):
                # Search has its own 10 / 2 s window (§9, unverified that it
                # does not also count against the general burst window).
                ok, _ = self.search_window.hit(key, self.enforce)
                if not ok:
                    return self.gateway(429, "Request over limit", self.rate_headers(self.search_window, key, 0))
                remaining = window.remaining(key)
            else:
                ok, remaining = window.hit(key, self.enforce)
                if not ok:
                    return self.gateway(429, "Request over limit", self.rate_headers(window, key, 0))
            self.daily_used += cost
            resp = self._run(fn, req, groups)
            resp.headers.extend(self.rate_headers(window, key, remaining))
            return resp

    def _run(self, fn, req, groups):
        try:
            resp = fn(req, *groups)
        except HttpError as e:
            resp = e.response
        except (AttributeError, TypeError, KeyError, ValueError) as e:
            resp = self.err(400, "Validation failed: %s: %s" % (type(e).__name__, e))
        resp.headers.append(("x-correlation-id", new_uuid()))
        return resp

    # ------------------------------------------------------ control API hooks
    def fault_response(self, req, status, rule):
        if status == 429:
            return self.gateway(429, "Request over limit", [("x-ratelimit-limit", str(self.burst.limit)),
                                                            ("x-ratelimit-remaining", "0"),
                                                            ("x-ratelimit-reset", "2")])
        if status == 401:
            return self.gateway(401, "unauthorized access", [("x-401-by-gw", "true")])
        if status == 403:
            return self.err(403, "You don't have permission to change this resource.")
        if status == 402:
            return self.err(402, "Company account is not open")
        reasons = {500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout"}
        return self.err(status, reasons.get(status, "Error %d" % status))

    def expire_token(self, req):
        with self.lock:
            info = self.tokens.get(req.bearer() or "")
            if info is not None:
                info["forced"] = True
            return self.gateway(401, "unauthorized access", [("x-401-by-gw", "true")])

    def redact_path(self, path):
        return path

    def records(self, obj):
        name = SEED_ALIASES.get(obj, obj)
        with self.lock:
            if name == "users":
                return list(self.data["users"])
            if name == "filters":
                return [{k: v for k, v in f.items() if not k.startswith("_")}
                        for _, f in sorted(self.user_filters.items())]
            if name == "lists":
                return [dict(l, size=sum(1 for p in self.data["persons"].values()
                                         if not p["is_deleted"] and l["id"] in p["label_ids"]))
                        for l in PERSON_LABELS]
            tab = self.data.get(name)
            if tab is None:
                return None
            return [tab[k] for k in sorted(tab, key=lambda k: (isinstance(k, str), k))]

    def touch(self, obj, body):
        """Server-side change: {"ids": [...], "set": {...}, "update_time"?: ISO, "is_deleted"?: bool}."""
        name = SEED_ALIASES.get(obj, obj)
        with self.lock:
            tab = self.data.get(name)
            if tab is None or name == "users":
                return None
            when = parse_time(body["update_time"]) if body.get("update_time") else self.clock.now_ms()
            touched = []
            for ident in body.get("ids") or []:
                key = int(ident) if str(ident).isdigit() else ident
                rec = tab.get(key)
                if rec is None:
                    continue
                for k, v in (body.get("set") or {}).items():
                    if HEX40.match(k) and name != "leads":
                        rec["custom_fields"][k] = v
                    else:
                        rec[k] = v
                if "is_deleted" in body:
                    rec["is_deleted"] = bool(body["is_deleted"])
                    if rec["is_deleted"]:
                        self.deleted_ms[(name, key)] = when
                rec["update_time"] = iso_s(when)
                touched.append(ident)
            return {"touched": touched, "update_time": iso_s(when)}

    # ================================================================ routes
    def _routes(self):
        r = self.router

        def tag(fn, cost, search=False, public=False):
            def h(req, *g):
                return fn(req, *g)
            h.cost, h.search, h.public = cost, search, public
            return h

        r.add("POST", r"/oauth/token", tag(self.oauth_token, None, public=True))
        r.add("POST", r"/oauth/revoke", tag(self.oauth_revoke, None, public=True))
        for v1 in (r"/v1", r"/api/v1"):
            r.add("GET", v1 + r"/users/me", tag(self.users_me, ("v1", "get")))
            r.add("GET", v1 + r"/users", tag(self.users_list, ("v1", "list")))
            r.add("GET", v1 + r"/users/(\d+)", tag(self.user_get, ("v1", "get")))
            r.add("GET", v1 + r"/users/find", tag(self.users_find, ("v1", "search")))
            r.add("GET", v1 + r"/leads", tag(self.leads_list, ("v1", "list")))
            r.add("GET", v1 + r"/leads/archived", tag(self.leads_archived, ("v1", "list")))
            r.add("POST", v1 + r"/leads", tag(self.lead_create, ("v1", "write")))
            r.add("GET", v1 + r"/leads/([0-9a-f-]{36})", tag(self.lead_get, ("v1", "get")))
            r.add("PATCH", v1 + r"/leads/([0-9a-f-]{36})", tag(self.lead_update, ("v1", "write")))
            r.add("DELETE", v1 + r"/leads/([0-9a-f-]{36})", tag(self.lead_delete, ("v1", "delete")))
            r.add("GET", v1 + r"/leadLabels", tag(self.lead_labels, ("v1", "list")))
            r.add("GET", v1 + r"/deals/summary", tag(self.deals_summary, ("v1", "list")))
            r.add("GET", v1 + r"/(person|organization|deal|lead)Fields", tag(self.fields_v1, ("v1", "fields")))
            r.add("GET", v1 + r"/filters", tag(self.filters_list, ("v1", "list")))
            r.add("POST", v1 + r"/filters", tag(self.filter_create, ("v1", "write")))
            r.add("DELETE", v1 + r"/filters/(\d+)", tag(self.filter_delete, ("v1", "delete")))
            r.add("GET", v1 + r"/recents", tag(self.recents, ("v1", "list")))
        v2 = r"/api/v2"
        for t in ("persons", "organizations", "deals"):
            r.add("GET", v2 + "/(%s)" % t, tag(self.v2_list, ("v2", "list")))
            r.add("POST", v2 + "/(%s)" % t, tag(self.v2_create, ("v2", "write")))
            r.add("GET", v2 + r"/(%s)/search" % t, tag(self.v2_search, ("v2", "search"), search=True))
            r.add("GET", v2 + r"/(%s)/(\d+)" % t, tag(self.v2_get, ("v2", "get")))
            r.add("PATCH", v2 + r"/(%s)/(\d+)" % t, tag(self.v2_update, ("v2", "write")))
            r.add("DELETE", v2 + r"/(%s)/(\d+)" % t, tag(self.v2_delete, ("v2", "delete")))
        r.add("GET", v2 + r"/deals/archived", tag(self.deals_archived, ("v2", "list")))
        r.add("GET", v2 + r"/(person|organization|deal)Fields", tag(self.fields_v2, ("v2", "fields")))
        r.add("GET", v2 + r"/(person|organization|deal)Fields/([A-Za-z0-9_]+)", tag(self.field_v2, ("v2", "get")))
        r.add("GET", v2 + r"/leads/search", tag(self.leads_search, ("v2", "search"), search=True))
        r.add("GET", v2 + r"/stages", tag(self.stages_list, ("v2", "list")))
        r.add("GET", v2 + r"/pipelines", tag(self.pipelines_list, ("v2", "list")))

    # ================================================================ OAuth
    def oauth_token(self, req):
        auth = req.header("Authorization") or ""
        form = req.form_fields()
        try:
            cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":") if auth[:6].lower() == "basic " \
                else (form.get("client_id"), None, form.get("client_secret"))
        except (ValueError, UnicodeDecodeError):
            cid = secret = None
        if "grant_type" not in form:
            return self.oauth_error("invalid_request", "Missing parameter: grant_type")
        if cid != OAUTH_CLIENT_ID or secret != OAUTH_CLIENT_SECRET:
            return self.oauth_error("invalid_client", "Invalid client: client is invalid", 401)
        if form["grant_type"] != "refresh_token":
            return self.oauth_error("unsupported_grant_type", "Unsupported grant type: grant_type is invalid")
        if form.get("refresh_token") != OAUTH_REFRESH_TOKEN:
            return self.oauth_error("invalid_grant", "Invalid grant: refresh_token is invalid")
        token = "v1u:" + secrets.token_urlsafe(96)
        self.tokens[token] = {"expires_ms": self.clock.now_ms() + TOKEN_TTL_S * 1000, "forced": False}
        # api_domain: our own origin (§14: the SDK rebases on it).
        host = req.header("Host") or "127.0.0.1"
        return json_response(200, {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_TTL_S,
                                   "refresh_token": OAUTH_REFRESH_TOKEN, "scope": "base,deals:full,contacts:full,"
                                   "leads:full,users:read,search:read", "api_domain": "http://" + host})

    def oauth_error(self, code, desc, status=400):
        # §1: OAuth2-style error body (the real wrapper is unverified).
        return json_response(status, {"error": code, "error_description": desc})

    def oauth_revoke(self, req):
        self.tokens.pop(req.form_fields().get("token"), None)
        return json_response(200, {})

    # ================================================================ users
    def users_me(self, req):
        me = dict(self.data["users"][0]) if self.data["users"] else {"id": 12001, "name": "Demo"}
        me.update({"company_id": COMPANY_ID, "company_name": COMPANY_NAME, "company_domain": COMPANY_DOMAIN,
                   "company_country": "DK", "company_industry": "Software",
                   "language": {"language_code": "en", "country_code": "US"}})
        return self.ok(me)

    def users_list(self, req):
        # §4: unpaginated.
        return self.ok(self.data["users"])

    def users_find(self, req):
        """v1 users/find (SDK findUsersByName): term against names, or emails with search_by_email=1."""
        term = (req.arg("term") or "").strip().lower()
        if not term:
            self.fail(400, "Validation failed: term: Parameter 'term' is required")
        key = "email" if (req.arg("search_by_email") or "0").strip().lower() in ("1", "true") else "name"
        return self.ok([u for u in self.data["users"] if term in str(u.get(key) or "").lower()])

    def user_get(self, req, uid):
        for u in self.data["users"]:
            if u["id"] == int(uid):
                return self.ok(u)
        self.fail(404, "User not found")

    # ============================================================== helpers
    def int_arg(self, req, name, default, lo, hi):
        v = req.arg(name)
        if v in (None, ""):
            return default
        try:
            n = int(v)
        except ValueError:
            self.fail(400, "Validation failed: %s: must be an integer" % name)
        if n < lo or n > hi:
            # Unverified: the real API may clamp instead.
            self.fail(400, "Validation failed: %s: must be between %d and %d" % (name, lo, hi))
        return n

    def time_arg(self, req, name):
        v = req.arg(name)
        if v in (None, ""):
            return None
        ms = parse_time(v)
        if ms is None or "T" not in v:
            self.fail(400, "Validation failed: %s: must be an RFC 3339 date-time" % name)
        return ms

    def v1_page(self, req, rows):
        """v1 start/limit paging; both the wrapped and flat shapes (§2.1)."""
        start = self.int_arg(req, "start", 0, 0, 10 ** 9)
        limit = self.int_arg(req, "limit", V1_LIMIT_DEFAULT, 1, V1_LIMIT_MAX)
        page = rows[start:start + limit]
        more = start + limit < len(rows)
        pag = {"start": start, "limit": limit, "more_items_in_collection": more}
        if more:
            pag["next_start"] = start + limit
        return page, dict(pag, pagination=pag)

    # =========================================================== v2 records
    def out(self, t, rec, req=None):
        """A record as the API shows it; custom_fields narrowed by ?custom_fields=."""
        o = dict(rec)
        want = req.args("custom_fields") if req is not None else None
        if want:
            o["custom_fields"] = {k: v for k, v in rec["custom_fields"].items() if k in want}
        else:
            o["custom_fields"] = {k: rec["custom_fields"].get(k) for k in CUSTOM[t]}
        if req is not None and req.flag("include_option_labels"):
            # SDK33 getPersons/getPerson docs: enum and set custom field values become {id, label}.
            for k, v in o["custom_fields"].items():
                f = CUSTOM[t].get(k)
                if f is None or not f.options or v is None or f.type not in ("enum", "set"):
                    continue
                labels = {opt_["id"]: opt_["label"] for opt_ in f.options}
                o["custom_fields"][k] = [{"id": i, "label": labels.get(i)} for i in v] if isinstance(v, list) \
                    else {"id": v, "label": labels.get(v)}
        return o

    def table(self, t):
        return self.data[t]

    def get_rec(self, t, ident, deleted_ok=False):
        rec = self.data[t].get(int(ident))
        if rec is None or (rec["is_deleted"] and not deleted_ok):
            self.fail(404, "%s not found" % {"persons": "Person", "organizations": "Organization",
                                              "deals": "Deal"}[t])
        return rec

    def v2_list(self, req, t):
        limit = self.int_arg(req, "limit", V2_LIMIT_DEFAULT, 1, V2_LIMIT_MAX)
        since, until = self.time_arg(req, "updated_since"), self.time_arg(req, "updated_until")
        sort_by = req.arg("sort_by") or "id"
        direction = req.arg("sort_direction") or "asc"
        if sort_by not in ("id", "update_time", "add_time") or direction not in ("asc", "desc"):
            self.fail(400, "Validation failed: sort_by must be id, update_time or add_time; "
                           "sort_direction asc or desc")
        ids = req.args("ids")
        if len(ids) > IDS_MAX:
            self.fail(400, "Validation failed: ids: at most %d" % IDS_MAX)
        if len(req.args("custom_fields")) > CUSTOM_FIELDS_QUERY_MAX:
            self.fail(400, "Validation failed: custom_fields: at most %d keys" % CUSTOM_FIELDS_QUERY_MAX)
        ids = {int(i) for i in ids if i.isdigit()} if ids else None
        statuses = set(req.args("status")) if t == "deals" else set()
        now = self.clock.now_ms()
        filt = self.filter_pred(req.arg("filter_id"), t)
        if filt is not None:
            # §2: filter_id overrides the other filter parameters.
            since = until = None
        rows = []
        for rec in self.data[t].values():
            if t == "deals" and statuses:
                st = "deleted" if rec["is_deleted"] else rec["status"]
                if st not in statuses:
                    continue
                if st == "deleted" and now - self.deleted_ms.get((t, rec["id"]), T(rec["update_time"])) \
                        > DELETED_REACH_DAYS * 86400_000:
                    continue
            elif rec["is_deleted"]:
                continue
            if t == "deals" and rec.get("is_archived"):
                continue   # §11: archived deals are not in the list
            if ids is not None and rec["id"] not in ids:
                continue
            u = T(rec["update_time"])
            if since is not None and u < since or until is not None and u >= until:
                continue
            for k in ("owner_id", "org_id", "person_id", "pipeline_id", "stage_id"):
                v = req.arg(k)
                if v not in (None, "") and str(rec.get(k)) != v:
                    break
            else:
                if filt is None or filt(rec):
                    rows.append(rec)
        key = {"id": lambda r: (r["id"],), "update_time": lambda r: (T(r["update_time"]), r["id"]),
               "add_time": lambda r: (T(r["add_time"]), r["id"])}[sort_by]
        rows.sort(key=key, reverse=direction == "desc")
        cur = req.arg("cursor")
        if cur:
            raw = core.decode_cursor(cur)
            try:
                after = json.loads(raw)["after"]
            except (TypeError, ValueError, KeyError):
                self.fail(400, "Validation failed: cursor: invalid cursor")
            after = tuple(after)
            rows = [r for r in rows if (key(r) > after if direction == "asc" else key(r) < after)]
        page = rows[:limit]
        nxt = None
        if len(rows) > limit:
            # Opaque keyset cursor (§2.1): base64 JSON of the last sort key.
            nxt = core.encode_cursor(json.dumps({"after": list(key(page[-1]))}, separators=(",", ":"))).strip()
        return self.ok([self.out(t, r, req) for r in page], {"next_cursor": nxt})

    def deals_archived(self, req):
        rows = sorted((r for r in self.data["deals"].values() if r.get("is_archived") and not r["is_deleted"]),
                      key=lambda r: r["id"])
        return self.ok([self.out("deals", r, req) for r in rows], {"next_cursor": None})

    def v2_get(self, req, t, ident):
        return self.ok(self.out(t, self.get_rec(t, ident), req))

    def filter_pred(self, fid, t):
        if fid in (None, ""):
            return None
        for f in self.filters():
            if str(f["id"]) == fid and f["_t"] == t:
                return f["_pred"]
        self.fail(404, "Filter not found")

    def filters(self):
        made = [f for f in self.user_filters.values() if f["active_flag"]]
        return made + [{"id": 1, "name": "Customers (label)", "type": "people", "_t": "persons",
                 "_pred": lambda r: 1 in r["label_ids"]},
                {"id": 2, "name": "Gmail persons", "type": "people", "_t": "persons",
                 "_pred": lambda r: any(e["value"].endswith("@gmail.com") for e in r["emails"])},
                {"id": 3, "name": "Won deals", "type": "deals", "_t": "deals",
                 "_pred": lambda r: r["status"] == "won"}]

    # Saved filters made through the API (§16 Filters API): the one shape
    # that works, one AND group and one OR group, at most 16 conditions.
    def filter_create(self, req):
        b = self.body(req)
        name, typ, cond = b.get("name"), b.get("type"), b.get("conditions")
        if not isinstance(name, str) or not name:
            self.fail(400, "Validation failed: name: required")
        if typ not in FILTER_TYPES:
            self.fail(400, "Validation failed: type: must be one of %s" % ", ".join(sorted(FILTER_TYPES)))
        groups = cond.get("conditions") if isinstance(cond, dict) and cond.get("glue") == "and" else None
        if not isinstance(groups, list) or len(groups) != 2 or \
                not all(isinstance(g, dict) and isinstance(g.get("conditions"), list) for g in groups) or \
                [g.get("glue") for g in groups] != ["and", "or"]:
            self.fail(400, "Validation failed: conditions: must hold one \"and\" group and one \"or\" group")
        if sum(len(g["conditions"]) for g in groups) > FILTER_MAX_CONDITIONS:
            self.fail(400, "Validation failed: conditions: at most %d conditions" % FILTER_MAX_CONDITIONS)
        t = FILTER_TYPES[typ]
        preds = [[self.filter_cond(t, c) for c in g["conditions"]] for g in groups]
        with self.lock:
            fid = self.next_filter_id
            self.next_filter_id += 1
            now = iso_s(self.clock.now_ms())
            f = {"id": fid, "name": name, "filter_code": None, "is_editable": True, "active_flag": True,
                 "type": typ, "temporary_flag": None, "user_id": 12001, "add_time": now, "update_time": now,
                 "visible_to": "1", "last_used_time": None, "custom_view_id": None, "conditions": cond,
                 "_t": t, "_pred": lambda r: all(p(r) for p in preds[0]) and
                 (not preds[1] or any(p(r) for p in preds[1]))}
            self.user_filters[fid] = f
        return self.ok({k: v for k, v in f.items() if not k.startswith("_")})

    def filter_cond(self, t, c):
        if not isinstance(c, dict):
            self.fail(400, "Validation failed: conditions: each condition must be an object")
        if FILTER_OBJECTS.get(c.get("object")) != t:
            self.fail(400, "Validation failed: object: %r is not supported here" % c.get("object"))
        op = c.get("operator")
        if op not in FILTER_OPERATORS:
            self.fail(400, "Validation failed: operator: %r is not a valid operator" % op)
        fields = FIELDS[t]
        try:
            f = fields[int(str(c.get("field_id"))) - 9000]
        except (ValueError, IndexError):
            self.fail(400, "Validation failed: field_id: field %s not found" % c.get("field_id"))
        extra, want = c.get("extra_value"), c.get("value")

        def values(r):
            if f.code in ("emails", "phones"):
                vs = [e.get("value") for e in r.get(f.code) or []]
            else:
                v = (r.get("custom_fields") or {}).get(f.code) if f.custom else r.get(f.code)
                if isinstance(v, dict):
                    v = v.get(extra or "value")
                vs = v if isinstance(v, list) else [v]
            return [str(v) for v in vs if v not in (None, "")]

        def cmp(a, b):
            try:
                x, y = float(a), float(b)
            except (TypeError, ValueError):
                x, y = str(a).lower()[:len(str(b))] if f.type == "date" else str(a).lower(), str(b).lower()
            return (x > y) - (x < y)

        if op == "IS NULL":
            return lambda r: not values(r)
        if op == "IS NOT NULL":
            return lambda r: bool(values(r))
        w = str(want if want is not None else "").lower()
        if op == "LIKE '%$%'":
            return lambda r: any(w in v.lower() for v in values(r))
        if op == "LIKE '$%'":
            return lambda r: any(v.lower().startswith(w) for v in values(r))
        if op == "NOT LIKE '$%'":
            return lambda r: not any(v.lower().startswith(w) for v in values(r))
        if op == "!=":
            return lambda r: not any(cmp(v, w) == 0 for v in values(r))
        test = {"=": lambda k: k == 0, "<": lambda k: k < 0, ">": lambda k: k > 0,
                "<=": lambda k: k <= 0, ">=": lambda k: k >= 0}[op]
        return lambda r: any(test(cmp(v, w)) for v in values(r))

    def filter_delete(self, req, fid):
        with self.lock:
            f = self.user_filters.get(int(fid))
            if f is None or not f["active_flag"]:
                self.fail(404, "Filter not found")
            f["active_flag"] = False   # "marks a filter as deleted"
        return self.ok({"id": int(fid)})

    def filters_list(self, req):
        typ = req.arg("type")
        rows = [{"id": f["id"], "name": f["name"], "active_flag": True, "type": f["type"], "temporary_flag": None,
                 "user_id": 12001, "add_time": "2025-11-03 10:00:00", "update_time": "2025-11-03 10:00:00",
                 "visible_to": "7", "custom_view_id": None} for f in self.filters() if not typ or f["type"] == typ]
        return self.ok(rows)

    def v2_search(self, req, t):
        term = (req.arg("term") or "").strip()
        exact = req.flag("exact_match")
        if len(term) < (1 if exact else 2):
            self.fail(400, "Validation failed: term: must be at least 2 characters long")
        fields = set(req.args("fields")) or {"name", "email", "phone", "custom_fields", "notes"}
        limit = self.int_arg(req, "limit", V2_LIMIT_DEFAULT, 1, V2_LIMIT_MAX)
        low = term.lower()

        def hit(v):
            if v is None:
                return False
            v = str(v).lower()
            return v == low if exact else low in v

        items = []
        for rec in sorted(self.data[t].values(), key=lambda r: r["id"]):
            if rec["is_deleted"]:
                continue
            name = rec.get("title") if t == "deals" else rec.get("name")
            ok = ("name" in fields or "title" in fields) and hit(name)
            if t == "persons":
                ok = ok or "email" in fields and any(hit(e["value"]) for e in rec["emails"])
                ok = ok or "phone" in fields and any(hit(p["value"]) for p in rec["phones"])
            if not ok and "custom_fields" in fields:
                ok = any(isinstance(v, str) and hit(v) for v in rec["custom_fields"].values())
            if ok:
                items.append(rec)
        cur = req.arg("cursor")
        start = int(core.decode_cursor(cur) or 0) if cur else 0
        page = items[start:start + limit]
        out = []
        for rec in page:
            it = {"id": rec["id"], "type": t[:-1], "visible_to": rec["visible_to"], "owner": {"id": rec["owner_id"]},
                  "custom_fields": [], "notes": []}
            if t == "persons":
                org = self.data["organizations"].get(rec["org_id"]) if rec["org_id"] else None
                it.update(name=rec["name"], emails=[e["value"] for e in rec["emails"]],
                          phones=[p["value"] for p in rec["phones"]],
                          organization={"id": org["id"], "name": org["name"]} if org else None)
            elif t == "organizations":
                it.update(name=rec["name"], address=(rec.get("address") or {}).get("value"))
            else:
                it.update(title=rec["title"], value=rec["value"], currency=rec["currency"], status=rec["status"])
            out.append({"result_score": 1.0 if exact else 0.5, "item": it})
        nxt = core.encode_cursor(start + limit).strip() if start + limit < len(items) else None
        return self.ok({"items": out}, {"next_cursor": nxt})

    # ============================================================ v2 writes
    def check_common(self, t, b, current=None):
        """Validates a v2 write body; returns the cleaned changes."""
        unknown = [k for k in b if k not in WRITABLE[t]]
        if unknown:
            # The SDK sends unknown keys through; we refuse them so a client bug shows (§14 allows 400).
            self.fail(400, "Validation failed: %s: unknown field" % unknown[0])
        ch = dict(b)
        if "owner_id" in ch and ch["owner_id"] is not None:
            if not any(u["id"] == ch["owner_id"] for u in self.data["users"]):
                self.fail(400, "Validation failed: owner_id: user %s not found" % ch["owner_id"])
        for k, tab in (("org_id", "organizations"), ("person_id", "persons")):
            if k in ch and ch[k] is not None:
                rec = self.data[tab].get(ch[k]) if isinstance(ch[k], int) else None
                if rec is None or rec["is_deleted"]:
                    self.fail(400, "Validation failed: %s: %s not found" % (k, ch[k]))
        for k in ("emails", "phones"):
            if k in ch:
                items = ch[k] if ch[k] is not None else []
                if not isinstance(items, list):
                    self.fail(400, "Validation failed: %s: must be an array" % k)
                clean = []
                for e in items:
                    if not isinstance(e, dict) or not isinstance(e.get("value"), str) or not e["value"]:
                        self.fail(400, "Validation failed: %s: every item needs a value" % k)
                    lbl = e.get("label") or "work"
                    if lbl not in LABELS_OK:
                        self.fail(400, "Validation failed: %s: label must be one of work, home, mobile, other" % k)
                    if k == "emails" and not EMAIL_RX.match(e["value"]):
                        self.fail(400, "Validation failed: emails: %s is not a valid email address" % e["value"])
                    clean.append({"value": e["value"], "primary": bool(e.get("primary")), "label": lbl})
                if clean and not any(e["primary"] for e in clean):
                    clean[0]["primary"] = True
                ch[k] = clean
        if "label_ids" in ch:
            allowed = {l["id"] for l in (PERSON_LABELS if t == "persons" else ORG_LABELS if t == "organizations" else [])}
            if ch["label_ids"] is None:
                ch["label_ids"] = []
            if not isinstance(ch["label_ids"], list) or (t != "deals" and any(i not in allowed for i in ch["label_ids"])):
                self.fail(400, "Validation failed: label_ids: unknown label")
        if "custom_fields" in ch:
            cf = ch["custom_fields"] or {}
            if not isinstance(cf, dict):
                self.fail(400, "Validation failed: custom_fields: must be an object")
            for k, v in cf.items():
                f = CUSTOM[t].get(k)
                if f is None:
                    self.fail(400, "Validation failed: custom_fields: field %s does not exist" % k,
                              field_code=k)
                if v is not None and f.type == "enum" and v not in {o["id"] for o in f.options}:
                    self.fail(400, "Validation failed: custom_fields.%s: option %s does not exist" % (k, v),
                              field_code=k)
        for k in ("address", "postal_address"):
            if k in ch and ch[k] is not None:
                if isinstance(ch[k], str):
                    ch[k] = {"value": ch[k]}
                if not isinstance(ch[k], dict):
                    self.fail(400, "Validation failed: %s: must be an object" % k)
        if t == "deals":
            if "status" in ch and ch["status"] not in ("open", "won", "lost"):
                self.fail(400, "Validation failed: status: must be one of open, won, lost")
            if "stage_id" in ch and ch["stage_id"] is not None and ch["stage_id"] not in STAGES:
                self.fail(400, "Validation failed: stage_id: stage %s not found" % ch["stage_id"])
            # A pipeline id that names none is refused like a stage id (§15; the exact
            # message for unknown option ids is unverified: the §13 envelope naming the field).
            if "pipeline_id" in ch and ch["pipeline_id"] is not None and \
                    ch["pipeline_id"] not in {p_["id"] for p_ in PIPELINES}:
                self.fail(400, "Validation failed: pipeline_id: pipeline %s not found" % ch["pipeline_id"])
            if "value" in ch and ch["value"] is not None and not isinstance(ch["value"], (int, float)):
                self.fail(400, "Validation failed: value: must be a number")
            if "probability" in ch and ch["probability"] is not None and \
                    (not isinstance(ch["probability"], (int, float)) or not 0 <= ch["probability"] <= 100):
                self.fail(400, "Validation failed: probability: must be a number from 0 to 100")
            if ch.get("expected_close_date") and not re.match(r"^\d{4}-\d\d-\d\d$", str(ch["expected_close_date"])):
                self.fail(400, "Validation failed: expected_close_date: must be YYYY-MM-DD")
        if t == "organizations" and ch.get("industry") is not None and \
                ch["industry"] not in {o_["id"] for o_ in INDUSTRIES}:
            # industry holds an option id of organizationFields' industry (§15).
            self.fail(400, "Validation failed: industry: option %s does not exist" % ch["industry"],
                      field_code="industry")
        if t == "organizations" and "employee_count" in ch and ch["employee_count"] is not None \
                and not isinstance(ch["employee_count"], int):
            self.fail(400, "Validation failed: employee_count: must be an integer")
        return ch

    def apply(self, t, rec, ch, now):
        for k, v in ch.items():
            if k == "custom_fields":
                for ck, cv in (v or {}).items():
                    if cv is None:
                        rec["custom_fields"].pop(ck, None)
                    else:
                        rec["custom_fields"][ck] = cv
            else:
                rec[k] = v
        if t == "persons":
            if ("first_name" in ch or "last_name" in ch) and "name" not in ch:
                rec["name"] = " ".join(x for x in (rec.get("first_name"), rec.get("last_name")) if x) or rec["name"]
            if "name" in ch and "first_name" not in ch and "last_name" not in ch:
                first, _, last = (rec["name"] or "").partition(" ")
                rec["first_name"], rec["last_name"] = first or None, last or None
        if t == "deals" and rec.get("stage_id") and STAGES[rec["stage_id"]]["pipeline_id"] != rec.get("pipeline_id"):
            # §15 (SDK30 AddDealRequest): stage_id wins when both are sent; pipeline_id
            # alone puts the deal in that pipeline's first stage.
            if ch.get("stage_id"):
                rec["pipeline_id"] = STAGES[rec["stage_id"]]["pipeline_id"]
            else:
                rec["stage_id"] = min((st for st in STAGES.values() if st["pipeline_id"] == rec["pipeline_id"]),
                                      key=lambda st: st["order_nr"])["id"]
        rec["update_time"] = iso_s(now)

    def v2_create(self, req, t):
        b = self.body(req)
        if "id" in b:
            self.fail(400, "Inserting ID with POST request is not allowed. If you have any questions, "
                           "please contact Pipedrive support")
        ch = self.check_common(t, b)
        now = self.clock.now_ms()
        if t == "persons" and not ch.get("name"):
            name = " ".join(x for x in (ch.get("first_name"), ch.get("last_name")) if x)
            if not name:
                self.fail(400, "Validation failed: name: Parameter 'name' is required")
            ch["name"] = name
        if t == "organizations" and not ch.get("name"):
            self.fail(400, "Validation failed: name: Parameter 'name' is required")
        if t == "deals" and not ch.get("title"):
            self.fail(400, "Validation failed: title: Parameter 'title' is required")
        nid = self.next_id[t]
        self.next_id[t] += 1
        rec = {"id": nid, "owner_id": self.data["users"][0]["id"] if self.data["users"] else None,
               "add_time": iso_s(now), "update_time": iso_s(now), "is_deleted": False, "visible_to": 3,
               "label_ids": [], "custom_fields": {}}
        if t == "persons":
            rec.update(name=None, first_name=None, last_name=None, org_id=None, emails=[], phones=[], picture_id=None,
                       job_title=None, postal_address=None)
        elif t == "organizations":
            rec.update(name=None, address=None, website=None, linkedin=None, industry=None, annual_revenue=None,
                       employee_count=None)
        else:
            rec.update(title=None, person_id=None, org_id=None, pipeline_id=1, stage_id=1, value=0, currency="EUR",
                       stage_change_time=None, is_archived=False, status="open", probability=None,
                       lost_reason=None, close_time=None, won_time=None, lost_time=None, expected_close_date=None,
                       origin="API", origin_id=None, channel=None, channel_id=None, arr=None, mrr=None, acv=None)
        self.apply(t, rec, ch, now)
        if t == "persons" and "name" in ch and "first_name" not in ch and "last_name" not in ch:
            pass
        self.data[t][nid] = rec
        # §2 create: 200 (v1 docs say 201; the SDK accepts any 2xx).
        return self.ok(self.out(t, rec))

    def v2_update(self, req, t, ident):
        rec = self.get_rec(t, ident)
        ch = self.check_common(t, self.body(req), rec)
        self.apply(t, rec, ch, self.clock.now_ms())
        return self.ok(self.out(t, rec))

    def v2_delete(self, req, t, ident):
        rec = self.get_rec(t, ident)
        now = self.clock.now_ms()
        rec["is_deleted"] = True
        rec["update_time"] = iso_s(now)
        self.deleted_ms[(t, rec["id"])] = now
        return self.ok({"id": rec["id"]})

    # ================================================================ fields
    def fields_v2(self, req, what):
        t = {"person": "persons", "organization": "organizations", "deal": "deals"}[what]
        rows = [f.v2() for f in FIELDS[t]]
        limit = self.int_arg(req, "limit", V2_LIMIT_DEFAULT, 1, V2_LIMIT_MAX)
        cur = req.arg("cursor")
        start = int(core.decode_cursor(cur) or 0) if cur else 0
        nxt = core.encode_cursor(start + limit).strip() if start + limit < len(rows) else None
        return self.ok(rows[start:start + limit], {"next_cursor": nxt})

    def field_v2(self, req, what, code):
        """GET /api/v2/{person,organization,deal}Fields/{field_code} (§5)."""
        t = {"person": "persons", "organization": "organizations", "deal": "deals"}[what]
        for f in FIELDS[t]:
            if f.code == code:
                return self.ok(f.v2())
        self.fail(404, "Field not found")   # message unverified

    def fields_v1(self, req, what):
        t = {"person": "persons", "organization": "organizations", "deal": "deals", "lead": "leads"}[what]
        rows = [f.v1(i) for i, f in enumerate(FIELDS[t])]
        page, add = self.v1_page(req, rows)
        return self.ok(page, add)

    def stages_list(self, req):
        pid = req.arg("pipeline_id")
        rows = [s for s in STAGES.values() if not pid or str(s["pipeline_id"]) == pid]
        return self.ok(rows, {"next_cursor": None})

    def pipelines_list(self, req):
        return self.ok([{"id": p["id"], "name": p["name"], "order_nr": p["id"], "is_deleted": False,
                         "is_deal_probability_enabled": True, "add_time": "2024-03-01T09:00:00Z",
                         "update_time": "2024-03-01T09:00:00Z"} for p in PIPELINES], {"next_cursor": None})

    # ================================================================= leads
    def leads_rows(self, req, archived):
        since = self.time_arg(req, "updated_since")
        rows = [l for l in self.data["leads"].values() if bool(l["is_archived"]) == archived
                and (since is None or T(l["update_time"]) >= since)]
        for k in ("owner_id", "person_id", "organization_id"):
            v = req.arg(k)
            if v not in (None, ""):
                rows = [l for l in rows if str(l.get(k)) == v]
        sort = (req.arg("sort") or "").strip()
        if not sort:
            rows.sort(key=lambda l: T(l["add_time"]))
            return rows
        # v1 sort (§2.1): "field_1 ASC, field_2 DESC", first-level keys only; the SDK
        # offers these lead keys (`pipedrive` v1 leads-api getLeads `sort`).
        keys = []
        for part in sort.split(","):
            m = re.match(r"^\s*(%s)(?:\s+(ASC|DESC))?\s*$" % "|".join(LEAD_SORT_KEYS), part, re.I)
            if not m:
                self.fail(400, "Validation failed: sort: unsupported sort %s" % sort)
            keys.append((m.group(1).lower(), (m.group(2) or "ASC").upper() == "DESC"))
        rows.sort(key=lambda l: l["id"])
        for k, desc in reversed(keys):   # stable sorts, last key first; nulls first in ASC (unverified)
            rows.sort(key=lambda l: (l.get(k) is not None, l.get(k) if l.get(k) is not None else 0), reverse=desc)
        return rows

    def leads_list(self, req):
        page, add = self.v1_page(req, self.leads_rows(req, False))
        return self.ok(page, add)

    def leads_archived(self, req):
        page, add = self.v1_page(req, self.leads_rows(req, True))
        return self.ok(page, add)

    def leads_search(self, req):
        """GET /api/v2/leads/search (SDK33 LeadsApi.searchLeads, LeadSearchItemItem)."""
        term = (req.arg("term") or "").strip()
        exact = req.flag("exact_match")
        if len(term) < (1 if exact else 2):
            self.fail(400, "Validation failed: term: must be at least 2 characters long")
        fields = set(req.args("fields")) or {"title", "notes", "custom_fields"}
        limit = self.int_arg(req, "limit", V2_LIMIT_DEFAULT, 1, V2_LIMIT_MAX)
        low = term.lower()

        def hit(v):
            return v is not None and (str(v).lower() == low if exact else low in str(v).lower())

        items = []
        for l in sorted(self.data["leads"].values(), key=lambda l: (T(l["add_time"]), l["id"])):
            for k in ("person_id", "organization_id"):
                v = req.arg(k)
                if v not in (None, "") and str(l.get(k)) != v:
                    break
            else:
                ok = "title" in fields and hit(l.get("title"))
                if not ok and "custom_fields" in fields:
                    ok = any(isinstance(l.get(k), str) and hit(l[k]) for k in CUSTOM["leads"])
                if ok:
                    items.append(l)
        cur = req.arg("cursor")
        start = int(core.decode_cursor(cur) or 0) if cur else 0
        out = []
        for l in items[start:start + limit]:
            per = self.data["persons"].get(l["person_id"]) if l.get("person_id") else None
            org = self.data["organizations"].get(l["organization_id"]) if l.get("organization_id") else None
            val = l.get("value") or {}
            out.append({"result_score": 1.0 if exact else 0.5, "item": {
                "id": l["id"], "type": "lead", "title": l["title"], "owner": {"id": l["owner_id"]},
                "person": {"id": per["id"], "name": per["name"]} if per else None,
                "organization": {"id": org["id"], "name": org["name"]} if org else None,
                "phones": [p["value"] for p in per["phones"]] if per else [],
                "emails": [e["value"] for e in per["emails"]] if per else [],
                "custom_fields": [], "notes": [], "value": val.get("amount"), "currency": val.get("currency"),
                "visible_to": int(l["visible_to"]) if str(l.get("visible_to") or "").isdigit() else None,
                "is_archived": bool(l["is_archived"])}})
        nxt = core.encode_cursor(start + limit).strip() if start + limit < len(items) else None
        return self.ok({"items": out}, {"next_cursor": nxt})

    def lead_get(self, req, lid):
        l = self.data["leads"].get(lid)
        if l is None:
            self.fail(404, "Lead not found")
        return self.ok(l)

    def lead_check(self, b, current=None):
        allowed = {"title", "owner_id", "label_ids", "person_id", "organization_id", "value", "expected_close_date",
                   "visible_to", "was_seen", "origin_id", "channel", "channel_id", "is_archived"}
        for k, v in b.items():
            if k not in allowed and k not in CUSTOM["leads"]:
                self.fail(400, "Validation failed: %s: unknown field" % k)
        if "value" in b and b["value"] is not None:
            v = b["value"]
            if not isinstance(v, dict) or not isinstance(v.get("amount"), (int, float)) or not v.get("currency"):
                self.fail(400, "Validation failed: value: must be an object with amount and currency")
        for k, tab in (("person_id", "persons"), ("organization_id", "organizations")):
            if b.get(k) is not None:
                rec = self.data[tab].get(b[k]) if isinstance(b[k], int) else None
                if rec is None or rec["is_deleted"]:
                    self.fail(400, "Validation failed: %s: %s not found" % (k, b[k]))
        if "label_ids" in b and (not isinstance(b["label_ids"], list) or
                                 any(i not in {l_["id"] for l_ in LEAD_LABELS} for i in b["label_ids"])):
            # §15: wrong types give "Couldn't create lead, body is invalid." (craft-freeform #2118);
            # an unknown label id answering the same way is an assumption.
            self.fail(400, "Couldn't %s lead, body is invalid." % ("update" if current else "create"),
                      error_info='"label_ids" must be an array of lead label ids')
        if "owner_id" in b and b["owner_id"] is not None and not any(u["id"] == b["owner_id"] for u in self.data["users"]):
            self.fail(400, "Validation failed: owner_id: user %s not found" % b["owner_id"])

    def lead_create(self, req):
        b = self.body(req)
        self.lead_check(b)
        if not b.get("title"):
            self.fail(400, "Validation failed: title: Parameter 'title' is required")
        if b.get("person_id") is None and b.get("organization_id") is None:
            self.fail(400, "Validation failed: A lead must be linked to a person or an organization")
        # pipedrive.md §17: the person or organization must exist (wording unverified).
        for key, table in (("person_id", "persons"), ("organization_id", "organizations")):
            ref = b.get(key)
            if ref is not None:
                rec = self.data[table].get(ref)
                if rec is None or rec.get("is_deleted"):
                    self.fail(400, "Validation failed: %s: %s %s not found" % (key, table[:-1], ref))
        now = iso_s(self.clock.now_ms())
        lid = new_uuid()
        lead = {"id": lid, "title": None, "owner_id": self.data["users"][0]["id"] if self.data["users"] else None,
                "creator_id": self.data["users"][0]["id"] if self.data["users"] else None, "label_ids": [],
                "person_id": None, "organization_id": None, "source_name": "API", "origin": "API",
                "origin_id": None, "channel": None, "channel_id": None, "source_deal_id": None,
                "is_archived": False, "was_seen": False, "value": None, "expected_close_date": None,
                "next_activity_id": None, "add_time": now, "update_time": now, "visible_to": "3",
                "cc_email": "crmsync-demo+lead@pipedrivemail.com"}
        lead.update({k: v for k, v in b.items()})
        self.data["leads"][lid] = lead
        return self.ok(lead, status=201)

    def lead_update(self, req, lid):
        l = self.data["leads"].get(lid)
        if l is None:
            self.fail(404, "Lead not found")
        b = self.body(req)
        self.lead_check(b, l)
        for k, v in b.items():
            if v is None and k in CUSTOM["leads"]:
                l.pop(k, None)
            else:
                l[k] = v
        l["update_time"] = iso_s(self.clock.now_ms())
        return self.ok(l)

    def lead_delete(self, req, lid):
        if self.data["leads"].pop(lid, None) is None:
            self.fail(404, "Lead not found")
        return self.ok({"id": lid})

    def deals_summary(self, req):
        """GET /v1/deals/summary (§16 Totals): the count of the deals the list
        shows (not deleted, not archived), optionally of one status, with
        value totals per currency."""
        status = req.arg("status")
        rows = [d for d in self.data["deals"].values() if not d["is_deleted"] and not d.get("is_archived")
                and (not status or d.get("status") == status)]
        values = {}
        for d in rows:
            cur = d.get("currency") or "USD"
            v = values.setdefault(cur, {"value": 0, "count": 0, "value_converted": 0,
                                        "value_formatted": "", "value_converted_formatted": ""})
            v["value"] += d.get("value") or 0
            v["count"] += 1
        return self.ok({"total_count": len(rows), "values_total": values, "weighted_values_total": {},
                        "total_currency_converted_value": 0, "total_weighted_currency_converted_value": 0,
                        "total_currency_converted_value_formatted": "",
                        "total_weighted_currency_converted_value_formatted": ""})

    def lead_labels(self, req):
        return self.ok([dict(l, add_time="2024-03-01T09:00:00.000Z", update_time="2024-03-01T09:00:00.000Z")
                        for l in LEAD_LABELS])

    # =============================================================== recents
    def recents(self, req):
        """Legacy change feed (§2.3, §12.4): reaches back about a month only."""
        since = req.arg("since_timestamp") or ""
        if not re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", since):
            self.fail(400, "Validation failed: since_timestamp: must be YYYY-MM-DD HH:MM:SS")
        since_ms = T(since.replace(" ", "T") + "Z")
        now = self.clock.now_ms()
        if now - since_ms > RECENTS_REACH_DAYS * 86400_000:
            self.fail(400, "Validation failed: since_timestamp: must not be older than one month")
        kinds = req.args("items") or ["person", "organization", "deal"]
        rows = []
        for kind in kinds:
            t = {"person": "persons", "organization": "organizations", "deal": "deals"}.get(kind)
            if t is None:
                continue
            for rec in self.data[t].values():
                u = T(rec["update_time"])
                if u > since_ms:   # exclusive (§12.3)
                    rows.append((u, kind, rec))
        rows.sort(key=lambda x: (x[0], x[2]["id"]))
        page, add = self.v1_page(req, rows)
        add["since_timestamp"] = since
        add["last_timestamp_on_page"] = v1_time(page[-1][0]) if page else since
        return self.ok([{"item": kind, "id": rec["id"], "data": self.v1_shape(kind, rec)} for _, kind, rec in page],
                       add)

    def v1_shape(self, kind, rec):
        """A v2 record in v1 shape (§2.2 v1->v2 in reverse)."""
        d = {k: v for k, v in rec.items() if k not in ("custom_fields", "is_deleted", "emails", "phones",
                                                     "label_ids", "add_time", "update_time")}
        d.update(rec["custom_fields"])
        d["active_flag"] = not rec["is_deleted"]
        d["add_time"] = v1_time(T(rec["add_time"]))
        d["update_time"] = v1_time(T(rec["update_time"]))
        if "emails" in rec:
            d["email"], d["phone"] = rec["emails"], rec["phones"]
        d["label"] = ",".join(str(i) for i in rec.get("label_ids") or []) or None
        for k in ("owner_id", "org_id", "person_id"):
            if rec.get(k) is not None:
                d[k] = {"value": rec[k], "name": None}
        if kind == "deal":
            d["user_id"] = d.pop("owner_id", None)
            if rec["is_deleted"]:
                d["status"] = "deleted"
        return d


def create(options):
    return Pipedrive(options)
