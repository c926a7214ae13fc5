"""Copper emulator for crmsync.

Speaks the Copper Developer API v1 as ../../../shared/api/copper.md
describes it (section numbers below refer to it): four headers on every
call, searches as POST /<entity>/search answering bare arrays (page_number,
page_size <= 200, sort_by, minimum_modified_date, X-PW-TOTAL, only the first
100,000 matches reachable), bulk create/update for people and leads (10 per
call, 3 calls a second), PUT /leads/upsert, hard deletes, 422 for unknown
body keys, custom field definitions, tags, /account, users, 180 calls a
minute.  Where copper.md marks a fact unverified, the choice made here is
said in a comment.

Control API extras (beside core.py's):
  POST /_emulator/touch/OBJECT  {"ids": [...] | "first": N, "set": {...},
                                 "date_modified": SECONDS|ISO}
      changes records server-side (date_modified = now unless given);
  POST /_emulator/touch/settings {"search_cap": N}
      lowers the 100,000-match search wall for a test (reset restores it).
"""

import copy
import json
import re
import threading

import core
from core import HttpError, BadJson, Fake, RollingWindow, json_response, parse_time, ascii_slug

# ====================================================================== facts

DEMO_KEY = "demo"
DEMO_EMAIL = "demo@example.com"
ACCOUNT = {"id": 100624, "name": "Crmsync Demo — Ørsted Sales", "primary_timezone": "America/New_York",
           "settings": {"setting_team_permissions_enabled": False, "setting_enable_leads": True}}

PER_MINUTE = 180          # §10: all calls, rolling minute
BULK_PER_SECOND = 3       # §10: bulk endpoints, in addition
PAGE_DEFAULT, PAGE_MAX = 20, 200
SEARCH_CAP = 100_000      # §3: only the first 100,000 matches of a search are reachable
BULK_MAX = 10

ENTITIES = ("people", "companies", "leads", "opportunities")
ALIASES = {"contacts": "people", "contact": "people", "person": "people", "accounts": "companies",
           "account": "companies", "company": "companies", "deals": "opportunities", "deal": "opportunities",
           "opportunity": "opportunities", "lead": "leads", "user": "users"}
SINGULAR = {"people": "person", "companies": "company", "leads": "lead", "opportunities": "opportunity"}
FIRST_ID = {"people": 101, "companies": 5001, "leads": 20001, "opportunities": 9001}

EMAIL_CATS = ("work", "personal", "other")
PHONE_CATS = ("mobile", "work", "home", "other")
WEB_CATS = ("work", "personal", "other")
ADDRESS_KEYS = ("street", "city", "state", "postal_code", "country")
OPP_STATUS = ("Open", "Won", "Lost", "Abandoned")      # search status_ids 0..3
PRIORITIES = ("None", "Low", "Medium", "High")

# Keys a record carries (what GET answers).  Writable ones may be sent;
# read-only ones are accepted and ignored (a pulled record sent back whole
# must not fail); anything else is an unrecognized attribute (§3, 422).
COMMON_RO = ("id", "date_created", "date_modified", "interaction_count", "date_last_contacted")
WRITABLE = {
    "people": ("name", "prefix", "first_name", "middle_name", "last_name", "suffix", "address", "assignee_id",
               "company_id", "contact_type_id", "details", "emails", "phone_numbers", "socials", "tags",
               "title", "websites", "custom_fields"),
    "companies": ("name", "address", "assignee_id", "contact_type_id", "details", "email_domain",
                  "phone_numbers", "socials", "tags", "websites", "custom_fields", "primary_contact_id"),
    "leads": ("name", "prefix", "first_name", "middle_name", "last_name", "suffix", "address", "assignee_id",
              "company_name", "customer_source_id", "details", "email", "monetary_unit", "monetary_value",
              "phone_numbers", "socials", "status", "status_id", "tags", "title", "websites", "custom_fields"),
    "opportunities": ("name", "assignee_id", "close_date", "company_id", "customer_source_id", "details",
                      "loss_reason_id", "monetary_value", "pipeline_id", "pipeline_stage_id",
                      "primary_contact_id", "priority", "status", "tags", "win_probability", "custom_fields"),
}
READ_ONLY = {
    "people": COMMON_RO + ("company_name", "leads_converted_from", "date_lead_created"),
    "companies": COMMON_RO,
    "leads": COMMON_RO + ("converted_at", "converted_contact_id", "converted_opportunity_id",
                          "converted_unit", "converted_value"),
    "opportunities": COMMON_RO + ("company_name", "pipeline_is_revenue", "leads_converted_from",
                                  "date_lead_created", "monetary_unit"),
}

SEARCH_COMMON = ("page_number", "page_size", "sort_by", "sort_direction", "ids", "name", "phone_number",
                 "assignee_ids", "tags", "city", "state", "postal_code", "country", "contact_type_ids",
                 "minimum_interaction_count", "maximum_interaction_count", "minimum_interaction_date",
                 "maximum_interaction_date", "minimum_created_date", "maximum_created_date",
                 "minimum_modified_date", "maximum_modified_date")
SEARCH_KEYS = {
    "people": SEARCH_COMMON + ("emails", "company_ids"),
    "companies": SEARCH_COMMON + ("email_domains",),
    "leads": SEARCH_COMMON + ("emails", "status_ids", "customer_source_ids"),
    "opportunities": SEARCH_COMMON + ("company_ids", "status_ids", "pipeline_ids", "pipeline_stage_ids",
                                      "primary_contact_ids", "customer_source_ids", "loss_reason_ids",
                                      "minimum_monetary_value", "maximum_monetary_value",
                                      "minimum_close_date", "maximum_close_date"),
    "users": ("page_number", "page_size"),
}
SORT_FIELDS = {
    "people": ("name", "first_name", "last_name", "title", "email", "phone", "date_modified", "date_created",
               "city", "state", "country", "zip"),
    "companies": ("name", "date_modified", "date_created", "city", "state", "country", "zip", "phone"),
    "leads": ("name", "first_name", "last_name", "title", "email", "date_modified", "date_created",
              "monetary_value", "status", "city", "state", "country", "zip"),
    "opportunities": ("name", "date_modified", "date_created", "close_date", "monetary_value", "status",
                      "win_probability", "customer_source", "priority"),
}
DEFAULT_SORT = {"people": "first_name", "companies": "date_modified", "leads": "name", "opportunities": "name"}

CUSTOM_DEFS = [
    {"id": 100764, "name": "Favourite colour", "canonical_name": "favourite_colour", "data_type": "Dropdown",
     "available_on": ["person", "lead"], "is_filterable": True,
     "options": [{"id": 167771, "name": "Teal", "rank": 0}, {"id": 167772, "name": "Ochre", "rank": 1},
                 {"id": 167773, "name": "Magenta", "rank": 2}, {"id": 167774, "name": "Grün", "rank": 3}]},
    {"id": 100765, "name": "Loyalty tier", "canonical_name": None, "data_type": "String",
     "available_on": ["person", "company"], "is_filterable": True},
    {"id": 100766, "name": "Contract value", "canonical_name": "contract_value", "data_type": "Currency",
     "available_on": ["company", "opportunity"], "is_filterable": False, "currency": "EUR"},
    {"id": 100767, "name": "Renewal date", "canonical_name": None, "data_type": "Date",
     "available_on": ["company", "opportunity"], "is_filterable": True},
    {"id": 100768, "name": "Newsletter", "canonical_name": None, "data_type": "Checkbox",
     "available_on": ["person", "lead"], "is_filterable": True},
    {"id": 100769, "name": "Regions", "canonical_name": None, "data_type": "MultiSelect",
     "available_on": ["company"], "is_filterable": True,
     "options": [{"id": 167781, "name": "EMEA", "rank": 0}, {"id": 167782, "name": "AMER", "rank": 1},
                 {"id": 167783, "name": "APAC", "rank": 2}]},
    # Companies have no standard industry (§2.2, §15): accounts add a
    # Dropdown; this one has the Field Key (canonical_name) "industry",
    # which is how crmsync finds it.  Its options are this account's own
    # (some are HubSpot's labels, some spelt otherwise, some not HubSpot's).
    {"id": 100770, "name": "Industry", "canonical_name": "industry", "data_type": "Dropdown",
     "available_on": ["company"], "is_filterable": True,
     "options": [{"id": 167791, "name": "Computer Software", "rank": 0},
                 {"id": 167792, "name": "Financial Services", "rank": 1},
                 {"id": 167793, "name": "Retail", "rank": 2},
                 {"id": 167794, "name": "Food and Beverages", "rank": 3},
                 {"id": 167795, "name": "Biotechnology", "rank": 4},
                 {"id": 167796, "name": "Energie & Umwelt", "rank": 5}]},
]
DEF_BY_ID = {d["id"]: d for d in CUSTOM_DEFS}

PIPELINES = [
    {"id": 213214, "name": "Sales", "type": "opportunity", "is_revenue": True, "stages": [
        {"id": 987790, "name": "Qualified", "win_probability": 5},
        {"id": 987791, "name": "Follow-up", "win_probability": 10},
        {"id": 987792, "name": "Presentation", "win_probability": 40},
        {"id": 987793, "name": "Contract Sent", "win_probability": 75},
        {"id": 987794, "name": "Negotiation", "win_probability": 90}]},
    {"id": 213215, "name": "Renewals — Ørsted", "type": "opportunity", "is_revenue": True, "stages": [
        {"id": 987795, "name": "Renewal due", "win_probability": 50},
        {"id": 987796, "name": "Négociation", "win_probability": 70}]},
]
STAGES = {s["id"]: dict(s, pipeline_id=p["id"]) for p in PIPELINES for s in p["stages"]}
LEAD_STATUSES = [{"id": 208231, "name": "New", "order": 1, "is_default": True},
                 {"id": 208232, "name": "Open", "order": 2, "is_default": False},
                 {"id": 208233, "name": "Unqualified", "order": 3, "is_default": False},
                 {"id": 208234, "name": "Junk", "order": 4, "is_default": False}]
CUSTOMER_SOURCES = [{"id": 331241, "name": "Email"}, {"id": 331242, "name": "Cold Call"},
                    {"id": 331243, "name": "Advertising"}, {"id": 331244, "name": "Empfehlung"}]
LOSS_REASONS = [{"id": 4001, "name": "Price"}, {"id": 4002, "name": "Competitor"}, {"id": 4003, "name": "Timing"}]
CONTACT_TYPES = [{"id": 451490, "name": "Potential Customer"}, {"id": 451491, "name": "Current Customer"},
                 {"id": 451492, "name": "Uncategorized"}, {"id": 451493, "name": "Other"}]
TAGS = ["vip", "newsletter", "partner", "churn-risk", "Ünicode ✓"]

T = lambda s: parse_time(s) // 1000  # noqa: E731  ISO -> unix seconds
CREATED_RANGE = (T("2025-01-01T00:00:00Z"), T("2025-12-31T23:59:59Z"))
MODIFIED_RANGE = (T("2026-01-05T00:00:00Z"), T("2026-09-30T23:59:59Z"))


def envelope(status, message):
    """§11: {"success": false, "status": N, "message": "..."}."""
    return json_response(status, {"success": False, "status": status, "message": message})


def invalid(*reasons):
    """§6, §11: 422 'Invalid input: Validation errors: ...', one reason a line."""
    return envelope(422, "Invalid input: Validation errors: " + "\n".join(reasons))


class Invalid(Exception):
    """One record failed validation: field and reason (for bulk items too)."""

    def __init__(self, field, reason, label=None):
        super().__init__(reason)
        self.field, self.reason = field, reason
        self.label = label or field.replace("_", " ").capitalize()

    def response(self):
        return invalid("%s: %s" % (self.label, self.reason))


def split_name(name):
    """Copper splits `name` into parts on write (§6): first, middle..., last."""
    parts = (name or "").split()
    if not parts:
        return None, None, None
    if len(parts) == 1:
        return parts[0], None, None
    return parts[0], " ".join(parts[1:-1]) or None, parts[-1]


def mmddyyyy(secs):
    t = core.time.gmtime(secs)
    return "%02d/%02d/%04d" % (t.tm_mon, t.tm_mday, t.tm_year)


# ================================================================== seeding

def seed(cu, counts, seed_value):
    n_users = counts.get("users", 5)
    n_companies = counts.get("companies", 10)
    n_people = counts.get("people", 50)
    n_opps = counts.get("opportunities", 10)
    n_leads = counts.get("leads", 5)

    f = Fake(seed_value, "users")
    users = []
    for i in range(n_users):
        first, last = f.first_name(), f.last_name()
        users.append({"id": 137658 + i, "name": "%s %s" % (first, last),
                      "email": "%s.%s@crmsync-demo.example" % (ascii_slug(first), ascii_slug(last, "")),
                      "groups": [{"id": 9001 + i % 2, "name": "Sales EMEA" if i % 2 else "Sales AMER"}]})
    user_ids = [u["id"] for u in users] or [None]

    def owner(fk):
        return None if fk.chance(0.08) else fk.pick(user_ids)

    def customs(fk, entity, **vals):
        out = []
        for d in CUSTOM_DEFS:
            if SINGULAR[entity] in d["available_on"]:
                out.append({"custom_field_definition_id": d["id"], "value": vals.get(str(d["id"]))})
        return out

    def modified(fk, i, group):
        # Seconds shared by small groups, as one import or one bulk call leaves them.
        return MODIFIED_RANGE[0] + (i // group) * 7919

    data = {e: {} for e in ENTITIES}

    f = Fake(seed_value, "companies")
    for i in range(n_companies):
        num = FIRST_ID["companies"] + i
        name = f.company_name()
        city, state, zipc, country, region = f.city()
        domain = "%s-%d.example.com" % (ascii_slug(" ".join(name.split(" ")[:2]), "-"), num)
        created = f.int(*CREATED_RANGE)
        data["companies"][num] = {
            "id": num, "name": name,
            "address": {"street": f.street(), "city": city, "state": state, "postal_code": zipc,
                        "country": country} if f.chance(0.8) else None,
            "assignee_id": owner(f), "contact_type_id": f.pick(CONTACT_TYPES)["id"],
            "details": f.pick([None, "Zuverlässige Logistik für Europa — seit 1887.",
                               'Makers of "fine" widgets.\nFamily owned since 1999.']),
            "email_domain": domain,
            "phone_numbers": [{"number": f.phone(), "category": "work"}] if f.chance(0.8) else [],
            "socials": [], "tags": [f.pick(TAGS)] if f.chance(0.3) else [],
            "websites": [{"url": "https://www." + domain, "category": "work"}],
            "custom_fields": customs(f, "companies", **{
                "100765": f.pick(["Gold", "Silver", "💎 Diamond"]) if f.chance(0.5) else None,
                "100766": float(f.int(1, 90) * 1000) if f.chance(0.5) else None,
                "100769": [167781, 167783] if f.chance(0.3) else None}),
            "interaction_count": f.int(0, 40), "date_created": created,
            "date_modified": modified(f, i, 5), "primary_contact_id": None,
        }
    company_ids = sorted(data["companies"])
    # Industries from a stream of their own, so the rest of the seed stays as it was.
    fi = Fake(seed_value, "industry")
    for num in company_ids:
        ind = fi.pick(DEF_BY_ID[100770]["options"])["id"] if fi.chance(0.8) else None
        for c in data["companies"][num]["custom_fields"]:
            if c["custom_field_definition_id"] == 100770:
                c["value"] = ind

    f = Fake(seed_value, "people")
    titles = ["CTO", "CEO", "VP Sales", "Software Engineer", "Product Manager", None]
    big = MODIFIED_RANGE[0] + 3 * 86400
    for i in range(n_people):
        num = FIRST_ID["people"] + i
        first, last = f.first_name(), f.last_name()
        comp = data["companies"][f.pick(company_ids)] if company_ids and f.chance(0.85) else None
        domain = comp["email_domain"] if comp else f.pick(["gmail.com", "proton.example"])
        emails = [{"email": "%s.%s.%d@%s" % (ascii_slug(first), ascii_slug(last, ""), num, domain),
                   "category": "work"}]
        if f.chance(0.15):
            emails.append({"email": "%s%d@home.example" % (ascii_slug(first), num), "category": "personal"})
        phones = []
        if f.chance(0.7):
            phones.append({"number": f.phone(), "category": "work"})
        if f.chance(0.3):
            phones.append({"number": f.phone(), "category": "mobile"})
        city, state, zipc, country, _ = f.city()
        p1, mid, p3 = split_name("%s %s" % (first, last))
        created = f.int(*CREATED_RANGE)
        # 250 people share one second when 500 or more are seeded (equal timestamps).
        mod = big if (n_people >= 500 and 250 <= i < 500) else modified(f, i, 4)
        colour = f.pick(DEF_BY_ID[100764]["options"])["id"] if f.chance(0.4) else None
        data["people"][num] = {
            "id": num, "name": "%s %s" % (first, last), "prefix": None, "first_name": p1, "middle_name": mid,
            "last_name": p3, "suffix": None,
            "address": {"street": f.street(), "city": city, "state": state, "postal_code": zipc,
                        "country": country} if f.chance(0.6) else None,
            "assignee_id": owner(f), "company_id": comp["id"] if comp else None,
            "company_name": comp["name"] if comp else None, "contact_type_id": f.pick(CONTACT_TYPES)["id"],
            "details": None, "emails": emails, "phone_numbers": phones, "socials": [],
            "tags": sorted({f.pick(TAGS) for _ in range(f.int(0, 2))}),
            "title": f.pick(titles), "websites": [],
            "custom_fields": customs(f, "people", **{
                "100764": colour, "100765": f.pick(["Gold", "Bronze"]) if f.chance(0.3) else None,
                "100768": True if f.chance(0.2) else None}),
            "date_created": created, "date_modified": mod,
            "date_last_contacted": created + f.int(0, 86400 * 30) if f.chance(0.4) else None,
            "interaction_count": f.int(0, 12), "leads_converted_from": [], "date_lead_created": None,
        }

    f = Fake(seed_value, "opportunities")
    for i in range(n_opps):
        num = FIRST_ID["opportunities"] + i
        comp = data["companies"][f.pick(company_ids)] if company_ids else None
        stage = f.pick(list(STAGES.values()))
        status = f.pick(["Open", "Open", "Open", "Won", "Lost", "Abandoned"])
        created = f.int(*CREATED_RANGE)
        data["opportunities"][num] = {
            "id": num, "name": "%s — %s" % (comp["name"] if comp else "Direct", f.pick(["Renewal", "Upsell",
                                                                                       "New deal", "Pilot"])),
            "assignee_id": owner(f), "close_date": mmddyyyy(created + f.int(30, 300) * 86400) if f.chance(0.8) else None,
            "company_id": comp["id"] if comp else None, "company_name": comp["name"] if comp else None,
            "customer_source_id": f.pick(CUSTOMER_SOURCES)["id"] if f.chance(0.5) else None,
            "details": f.pick([None, "Budget approved — Q3.", "Needs a second demo"]),
            "loss_reason_id": 4001 if status == "Lost" else None,
            "monetary_value": f.int(1, 500) * 100, "pipeline_id": stage["pipeline_id"],
            "pipeline_stage_id": stage["id"], "primary_contact_id": None,
            "priority": f.pick(PRIORITIES), "status": status, "tags": [], "win_probability": stage["win_probability"],
            "custom_fields": customs(f, "opportunities", **{"100766": 1200.5 if f.chance(0.3) else None}),
            "interaction_count": 0, "date_created": created, "date_modified": modified(f, i, 3),
            "date_last_contacted": None, "leads_converted_from": [], "date_lead_created": None,
            "pipeline_is_revenue": True, "monetary_unit": None,
        }

    f = Fake(seed_value, "leads")
    for i in range(n_leads):
        num = FIRST_ID["leads"] + i
        first, last = f.first_name(), f.last_name()
        p1, mid, p3 = split_name("%s %s" % (first, last))
        st = f.pick(LEAD_STATUSES)
        created = f.int(*CREATED_RANGE)
        data["leads"][num] = {
            "id": num, "name": "%s %s" % (first, last), "prefix": None, "first_name": p1, "middle_name": mid,
            "last_name": p3, "suffix": None, "address": None, "assignee_id": owner(f),
            "company_name": f.company_name() if f.chance(0.7) else None,
            "customer_source_id": f.pick(CUSTOMER_SOURCES)["id"] if f.chance(0.6) else None,
            "details": None,
            "email": {"email": "lead.%s.%d@prospect.example" % (ascii_slug(first), num), "category": "work"},
            "interaction_count": 0, "monetary_unit": None, "monetary_value": f.int(0, 90) * 100 or None,
            "converted_unit": None, "converted_value": None, "phone_numbers": [], "socials": [],
            "status": st["name"], "status_id": st["id"], "tags": [], "title": f.pick(titles), "websites": [],
            "custom_fields": customs(f, "leads", **{"100764": 167772 if f.chance(0.3) else None}),
            "date_created": created, "date_modified": modified(f, i, 2), "date_last_contacted": None,
            "converted_at": None, "converted_contact_id": None, "converted_opportunity_id": None,
        }
    cu.base_users = users
    cu.base_data = data


# ===================================================================== server

class Copper:
    name = "copper"

    def __init__(self, options):
        self.clock = options.clock
        self.enforce = options.rate_limits != "off"
        self.lock = threading.RLock()
        counts = {}
        for k, v in (options.records or {}).items():
            k = ALIASES.get(k, k)
            if k not in ENTITIES and k != "users":
                raise ValueError("copper: unknown object %r in --records (known: contacts, accounts, deals, "
                                 "leads, users)" % k)
            counts[k] = v
        seed(self, counts, options.seed)
        self.minute = RollingWindow(options.burst or PER_MINUTE, 60.0)
        self.bulk = RollingWindow(BULK_PER_SECOND, 1.0)
        self.router = core.Router()
        self._routes()
        self.reset()

    def credentials(self, url):
        return "COPPER_API_KEY=%s COPPER_USER_EMAIL=%s" % (DEMO_KEY, DEMO_EMAIL)

    def reset(self):
        with self.lock:
            self.data = {e: {k: dict(v) for k, v in t.items()} for e, t in self.base_data.items()}
            self.users = [dict(u) for u in self.base_users]
            self.next_id = {e: max(list(self.data[e]) + [FIRST_ID[e] - 1]) + 1 for e in ENTITIES}
            self.search_cap = SEARCH_CAP
            self.minute.reset()
            self.bulk.reset()

    def now(self):
        return self.clock.now_ms() // 1000

    # ------------------------------------------------------------ plumbing
    def body(self, req, want=dict):
        try:
            b = req.json()
        except BadJson:
            raise HttpError(envelope(400, "Invalid JSON in request body"))
        if not isinstance(b, want):
            raise HttpError(envelope(400, "Invalid JSON in request body"))
        return b

    @staticmethod
    def unknown_keys(keys, allowed):
        bad = [k for k in keys if k not in allowed]
        if bad:
            raise HttpError(invalid("Base: Unrecognized attributes specified: " + ", ".join(bad)))

    def entity(self, name):
        if name not in ENTITIES:
            raise HttpError(json_response(404, {"error": "not_found"}))
        return name

    def get_rec(self, entity, ident):
        rec = self.data[entity].get(int(ident)) if str(ident).isdigit() else None
        if rec is None:
            raise HttpError(envelope(404, "Resource not found"))
        return rec

    # One request: route, the four headers, the rate limits, the handler.
    def handle(self, req):
        path = req.path.rstrip("/") or "/"
        m = re.match(r"^/developer_api/v1(/.*)$", path)
        if m:  # the real base path works too (--base-url .../developer_api/v1 or not)
            path = m.group(1)
        fn, groups = self.router.match(req.method, path)
        if fn is None:
            return json_response(404, {"error": "not_found"})
        key = req.header("X-PW-AccessToken")
        with self.lock:
            # §1: all four headers on every call.  The 401 text is not
            # captured anywhere (unverified); clients key on the status.
            if key != DEMO_KEY or req.header("X-PW-Application") != "developer_api" \
                    or (req.header("X-PW-UserEmail") or "").lower() != DEMO_EMAIL:
                return envelope(401, "Invalid or missing X-PW-AccessToken, X-PW-Application or X-PW-UserEmail")
            # Official samples send Content-Type on every call, GET too (§1);
            # what Copper does without it is unverified: refused here.
            if not (req.header("Content-Type") or "").lower().startswith("application/json"):
                return envelope(400, "Content-Type must be application/json")
            ok, _ = self.minute.hit(key, self.enforce)
            if not ok:
                return self.too_many()
            if getattr(fn, "bulk", False):
                ok, _ = self.bulk.hit(key, self.enforce)
                if not ok:
                    return self.too_many()
            try:
                return fn(req, *groups)
            except HttpError as e:
                return e.response
            except Invalid as e:
                return e.response()
            except (AttributeError, TypeError, KeyError, ValueError) as e:
                return envelope(400, "Bad request: %s" % e)

    @staticmethod
    def too_many():
        # §10: the 429 body was never captured (unverified): the §11 envelope,
        # and no Retry-After (none is documented).
        return envelope(429, "API rate limit exceeded")

    # ------------------------------------------------------ control API hooks
    def fault_response(self, req, status, rule):
        if status == 429:
            return self.too_many()
        if status == 401:
            return envelope(401, "Invalid or missing X-PW-AccessToken, X-PW-Application or X-PW-UserEmail")
        if status == 403:
            return envelope(403, "You do not have permission to access this resource")
        if status in (502, 503, 504):
            # §11: 5xx from the edge may be HTML.
            return core.raw_response(status, "<html><body><h1>%d Service Unavailable</h1></body></html>" % status,
                                     "text/html")
        return envelope(status, "Internal Server Error" if status >= 500 else "error")

    def expire_token(self, req):
        # API keys do not expire (§1): the nearest thing is a revoked key, a 401.
        return envelope(401, "Invalid or missing X-PW-AccessToken, X-PW-Application or X-PW-UserEmail")

    def redact_path(self, path):
        return path

    def records(self, obj):
        name = ALIASES.get(obj, obj)
        with self.lock:
            if name == "users":
                return list(self.users)
            if name == "custom_field_definitions":
                return list(CUSTOM_DEFS)
            if name == "tags":
                return self.tag_rows()
            if name not in ENTITIES:
                return None
            return [self.data[name][k] for k in sorted(self.data[name])]

    def touch(self, obj, body):
        name = ALIASES.get(obj, obj)
        with self.lock:
            if name == "settings":
                if "search_cap" in body:
                    self.search_cap = int(body["search_cap"])
                return {"search_cap": self.search_cap}
            if name not in ENTITIES:
                return None
            tab = self.data[name]
            when = body.get("date_modified")
            when = (parse_time(when) // 1000 if isinstance(when, str) else int(when)) if when is not None else self.now()
            ids = body.get("ids")
            if ids is None and body.get("first"):
                ids = sorted(tab)[:int(body["first"])]
            touched = []
            for ident in ids or []:
                rec = tab.get(int(ident))
                if rec is None:
                    continue
                rec = dict(rec, **(body.get("set") or {}))
                rec["date_modified"] = when
                tab[rec["id"]] = rec
                touched.append(rec["id"])
            return {"touched": touched, "date_modified": when}

    # ================================================================ routes
    def _routes(self):
        r = self.router

        def bulk(fn):
            fn.__func__.bulk = True
            return fn

        r.add("GET", r"/account", lambda req: json_response(200, ACCOUNT))
        r.add("GET", r"/users/me", lambda req: json_response(200, self.users[0] if self.users else {}))
        r.add("POST", r"/users/search", self.users_search)
        r.add("GET", r"/users/(\d+)", self.user_get)
        r.add("GET", r"/custom_field_definitions", lambda req: json_response(200, CUSTOM_DEFS))
        r.add("GET", r"/custom_field_definitions/(\d+)", self.custom_def_get)
        r.add("GET", r"/tags", lambda req: json_response(200, self.tag_rows()))
        r.add("GET", r"/pipelines", lambda req: json_response(200, PIPELINES))
        r.add("GET", r"/pipeline_stages", lambda req: json_response(200, list(STAGES.values())))
        r.add("GET", r"/lead_statuses", lambda req: json_response(200, LEAD_STATUSES))
        r.add("GET", r"/customer_sources", lambda req: json_response(200, CUSTOMER_SOURCES))
        r.add("GET", r"/loss_reasons", lambda req: json_response(200, LOSS_REASONS))
        r.add("GET", r"/contact_types", lambda req: json_response(200, CONTACT_TYPES))
        r.add("PUT", r"/leads/upsert", self.lead_upsert)
        r.add("POST", r"/people/fetch_by_email", self.fetch_by_email)
        for e in ("people", "leads"):
            r.add("POST", r"/(%s)/bulk_create" % e, bulk(self.bulk_create))
            r.add("POST", r"/(%s)/bulk_update" % e, bulk(self.bulk_update))
        ent = r"/(people|companies|leads|opportunities)"
        r.add("POST", ent + r"/search", self.search)
        r.add("POST", ent, self.create)
        r.add("GET", ent + r"/([^/]+)", self.get)
        r.add("PUT", ent + r"/([^/]+)", self.update)
        r.add("DELETE", ent + r"/([^/]+)", self.delete)

    # ============================================================ lookups
    def tag_rows(self):
        counts = {}
        for e in ENTITIES:
            for rec in self.data[e].values():
                for t in rec.get("tags") or []:
                    c = counts.setdefault(t, {"name": t, "count": 0, "count_people": 0, "count_companies": 0,
                                              "count_leads": 0, "count_opportunities": 0, "count_projects": 0,
                                              "count_tasks": 0})
                    c["count"] += 1
                    c["count_" + e] += 1
        return [counts[k] for k in sorted(counts)]

    def custom_def_get(self, req, ident):
        d = DEF_BY_ID.get(int(ident))
        if d is None:
            raise HttpError(envelope(404, "Resource not found"))
        return json_response(200, d)

    def users_search(self, req):
        b = self.body(req)
        self.unknown_keys(b, SEARCH_KEYS["users"])
        pn, ps = self.paging(b)
        rows = sorted(self.users, key=lambda u: u["id"])
        return self.page_response(rows, pn, ps)

    def user_get(self, req, ident):
        for u in self.users:
            if u["id"] == int(ident):
                return json_response(200, u)
        raise HttpError(envelope(404, "Resource not found"))

    # ============================================================ search
    @staticmethod
    def paging(b):
        pn, ps = b.get("page_number", 1), b.get("page_size", PAGE_DEFAULT)
        if isinstance(pn, str) and pn.isdigit():
            pn = int(pn)
        if isinstance(ps, str) and ps.isdigit():
            ps = int(ps)
        if not isinstance(pn, int) or pn < 1:
            raise Invalid("page_number", "must be greater than or equal to 1")
        if not isinstance(ps, int) or ps < 1:
            raise Invalid("page_size", "must be greater than or equal to 1")
        if ps > PAGE_MAX:
            # The documented maximum is 200; the exact answer above it is unverified.
            raise Invalid("page_size", "must be less than or equal to %d" % PAGE_MAX)
        return pn, ps

    def page_response(self, rows, pn, ps):
        total = len(rows)
        start = (pn - 1) * ps
        # §3: only the first `search_cap` matches are reachable; past the wall
        # the answer is an empty page (what Copper answers there is unverified).
        end = min(start + ps, self.search_cap)
        page = rows[start:end] if start < self.search_cap else []
        return json_response(200, page, [("X-PW-TOTAL", str(total))])

    @staticmethod
    def secs(v, what):
        # §4: numbers, or (AMP) digit strings.
        if isinstance(v, str) and re.match(r"^-?\d+$", v):
            return int(v)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return int(v)
        raise Invalid(what, "must be a unix timestamp")

    def search(self, req, entity):
        b = self.body(req)
        self.unknown_keys(b, SEARCH_KEYS[entity])
        pn, ps = self.paging(b)
        rows = list(self.data[entity].values())

        def where(pred):
            nonlocal rows
            rows = [r for r in rows if pred(r)]

        if "ids" in b:
            ids = {int(x) for x in b["ids"]}
            where(lambda r: r["id"] in ids)
        if b.get("name"):
            n = str(b["name"]).lower()
            where(lambda r: n in (r.get("name") or "").lower())
        if "emails" in b:
            want = b["emails"]
            if entity == "leads":
                # §3: leads take one string.
                if not isinstance(want, str):
                    raise Invalid("emails", "must be a string")
                want = [want]
            want = {str(x).lower() for x in want}
            if entity == "people":
                where(lambda r: any((e.get("email") or "").lower() in want for e in r.get("emails") or []))
            else:
                where(lambda r: ((r.get("email") or {}).get("email") or "").lower() in want)
        if "email_domains" in b:
            want = {str(x).lower() for x in b["email_domains"]}
            where(lambda r: (r.get("email_domain") or "").lower() in want)
        if "tags" in b:
            want = set(b["tags"])  # match any (§3)
            where(lambda r: bool(want & set(r.get("tags") or [])))
        if "assignee_ids" in b:
            want = {int(x) for x in b["assignee_ids"]}
            where(lambda r: (r.get("assignee_id") if r.get("assignee_id") is not None else -2) in want)
        if "company_ids" in b:
            want = {int(x) for x in b["company_ids"]}
            where(lambda r: r.get("company_id") in want)
        if "status_ids" in b:
            want = {int(x) for x in b["status_ids"]}
            if entity == "opportunities":
                where(lambda r: OPP_STATUS.index(r["status"]) in want)
            else:
                where(lambda r: r.get("status_id") in want)
        if "pipeline_ids" in b:
            want = {int(x) for x in b["pipeline_ids"]}
            where(lambda r: r.get("pipeline_id") in want)
        if "phone_number" in b:
            # §3: a string (the digits, exact) or {"value", "match": "partial"|"fuzzy"}.
            want, match = b["phone_number"], "exact"
            if isinstance(want, dict):
                want, match = want.get("value"), want.get("match") or "exact"
                if match not in ("exact", "partial", "fuzzy"):
                    raise Invalid("phone_number", "match is not included in the list")
            if not isinstance(want, str):
                raise Invalid("phone_number", "must be a string")
            digits = re.sub(r"\D", "", want)

            def phone_hit(r):
                for ph in r.get("phone_numbers") or []:
                    have = re.sub(r"\D", "", ph.get("number") or "")
                    if have == digits or (match != "exact" and digits and digits in have):
                        return True
                return False
            where(phone_hit)
        for k in ("city", "state", "postal_code", "country"):
            if b.get(k) is not None:
                want = str(b[k]).lower()
                where(lambda r, k=k, want=want: ((r.get("address") or {}).get(k) or "").lower() == want)
        for k, field in (("contact_type_ids", "contact_type_id"), ("pipeline_stage_ids", "pipeline_stage_id"),
                         ("customer_source_ids", "customer_source_id"), ("primary_contact_ids", "primary_contact_id"),
                         ("loss_reason_ids", "loss_reason_id")):
            if k in b:
                if not isinstance(b[k], list):
                    raise Invalid(k, "must be an array")
                want = {int(x) for x in b[k]}
                # -2 is "none" (§16).
                where(lambda r, field=field, want=want: (r.get(field) if r.get(field) is not None else -2) in want)
        for k, field in (("monetary_value", "monetary_value"), ("interaction_count", "interaction_count")):
            lo, hi = b.get("minimum_" + k), b.get("maximum_" + k)
            for bound, ge in ((lo, True), (hi, False)):
                if bound is None:
                    continue
                if isinstance(bound, bool) or not isinstance(bound, (int, float)):
                    raise Invalid(("minimum_" if ge else "maximum_") + k, "must be a number")
                where(lambda r, field=field, bound=bound, ge=ge: r.get(field) is not None and
                      (r[field] >= bound if ge else r[field] <= bound))
        # §4: the date bounds read as "on or after" / "on or before" (exact
        # inclusivity unverified; inclusive here, as the client assumes).
        for k, field in (("minimum_modified_date", "date_modified"), ("minimum_created_date", "date_created")):
            if b.get(k) is not None:
                lo = self.secs(b[k], k)
                where(lambda r, lo=lo, field=field: (r.get(field) or 0) >= lo)
        for k, field in (("maximum_modified_date", "date_modified"), ("maximum_created_date", "date_created")):
            if b.get(k) is not None:
                hi = self.secs(b[k], k)
                where(lambda r, hi=hi, field=field: (r.get(field) or 0) <= hi)

        sort_by = b.get("sort_by") or DEFAULT_SORT[entity]
        if sort_by not in SORT_FIELDS[entity]:
            raise Invalid("sort_by", "is not included in the list")
        direction = b.get("sort_direction") or "asc"
        if direction not in ("asc", "desc"):
            raise Invalid("sort_direction", "is not included in the list")

        def key(r):
            if sort_by == "email":
                v = ((r.get("emails") or [{}])[0] if entity == "people" else (r.get("email") or {})).get("email")
            elif sort_by in ("city", "state", "country", "zip"):
                v = (r.get("address") or {}).get("postal_code" if sort_by == "zip" else sort_by)
            elif sort_by == "phone":
                v = ((r.get("phone_numbers") or [{}])[0]).get("number")
            else:
                v = r.get(sort_by)
            if isinstance(v, str):
                return (1, v.lower(), r["id"])
            return (0 if v is None else 1, v if v is not None else 0, r["id"])

        rows.sort(key=key, reverse=direction == "desc")
        return self.page_response(rows, pn, ps)

    # ============================================================ writes
    def clean(self, entity, body, current=None):
        """Validates a write body; returns the record's new fields (no id/dates)."""
        if not isinstance(body, dict):
            raise Invalid("base", "must be an object")
        self.unknown_keys(body, WRITABLE[entity] + READ_ONLY[entity])
        out = {}
        for k, v in body.items():
            if k in READ_ONLY[entity]:
                continue
            out[k] = self.check(entity, k, v, current)
        rec = dict(current or {}, **out)
        if not (rec.get("name") or "").strip():
            raise Invalid("name", "can't be blank")
        if entity in ("people", "leads") and ("name" in out or current is None):
            p1, mid, p3 = split_name(rec["name"])
            for k, v in (("first_name", p1), ("middle_name", mid), ("last_name", p3)):
                if k not in body:
                    out[k] = v
        if entity == "people":
            for e in out.get("emails") or []:
                other = self.person_by_email(e["email"])
                if other is not None and (current is None or other["id"] != current["id"]):
                    # §6: a person's email is unique (body unverified).
                    raise Invalid("emails", "%s has already been taken" % e["email"])
            if "company_id" in out:
                c = self.data["companies"].get(out["company_id"]) if out["company_id"] else None
                out["company_name"] = c["name"] if c else None
        if entity == "opportunities":
            if "company_id" in out:
                c = self.data["companies"].get(out["company_id"]) if out["company_id"] else None
                out["company_name"] = c["name"] if c else None
            if out.get("pipeline_stage_id") is not None:
                # A stage belongs to one pipeline (§2.3): a pipeline_id that
                # names another is refused, as other id mismatches are.
                pid = STAGES[out["pipeline_stage_id"]]["pipeline_id"]
                if out.get("pipeline_id") not in (None, pid):
                    raise Invalid("pipeline_stage_id", "Invalid value for Pipeline stage: %s is not a stage of "
                                  "pipeline %s" % (out["pipeline_stage_id"], out["pipeline_id"]), "Pipeline stage")
                out["pipeline_id"] = pid
            elif out.get("pipeline_id") is not None:
                # A new pipeline alone: its first stage, as a create without a
                # stage takes the default pipeline's first (§15; unverified for updates).
                cur = (current or {}).get("pipeline_stage_id")
                if cur is None or STAGES[cur]["pipeline_id"] != out["pipeline_id"]:
                    first = next(p for p in PIPELINES if p["id"] == out["pipeline_id"])["stages"][0]
                    out["pipeline_stage_id"] = first["id"]
        if entity == "leads":
            if "status" in out and out["status"] is not None:
                st = next((s for s in LEAD_STATUSES if s["name"].lower() == str(out["status"]).lower()), None)
                if st is None:
                    raise Invalid("status", "is not a lead status of this account")
                out["status"], out["status_id"] = st["name"], st["id"]
            elif "status_id" in out and out["status_id"] is not None:
                st = next((s for s in LEAD_STATUSES if s["id"] == out["status_id"]), None)
                if st is None:
                    raise Invalid("status_id", "is not a lead status of this account")
                out["status"] = st["name"]
        if "custom_fields" in out and current is not None:
            # Unverified whether Copper merges per definition (§6): merged here.
            merged = {c["custom_field_definition_id"]: c for c in current.get("custom_fields") or []}
            for c in out["custom_fields"]:
                merged[c["custom_field_definition_id"]] = c
            out["custom_fields"] = [merged[k] for k in sorted(merged)]
        return out

    def person_by_email(self, email, where="people"):
        e = (email or "").lower()
        for r in self.data["people"].values():
            if any((x.get("email") or "").lower() == e for x in r.get("emails") or []):
                return r
        return None

    def check(self, entity, k, v, current):
        """One value of a write: its Copper shape, or Invalid."""
        def ref(table, ident, label):
            if ident is None:
                return None
            if isinstance(ident, bool) or not isinstance(ident, int) or ident <= 0:
                raise Invalid(k, "Invalid value for %s: IDs must be positive integers: %s" % (label, ident), label)
            if table is not None and ident not in table:
                raise Invalid(k, "Invalid value for %s: %s" % (label, ident), label)
            return ident

        if k in ("name", "details", "title", "prefix", "first_name", "middle_name", "last_name", "suffix",
                 "company_name", "email_domain", "monetary_unit"):
            if v is not None and not isinstance(v, str):
                raise Invalid(k, "must be a string")
            return v
        if k == "assignee_id":
            return ref({u["id"] for u in self.users}, v, "Assignee")
        if k in ("company_id",):
            return ref(self.data["companies"], v, "Company Id")
        if k == "primary_contact_id":
            return ref(self.data["people"], v, "Primary Contact")
        if k == "contact_type_id":
            return ref({c["id"] for c in CONTACT_TYPES}, v, "Contact type")
        if k == "customer_source_id":
            return ref({c["id"] for c in CUSTOMER_SOURCES}, v, "Customer source")
        if k == "loss_reason_id":
            return ref({c["id"] for c in LOSS_REASONS}, v, "Loss reason")
        if k == "pipeline_stage_id":
            return ref(STAGES, v, "Pipeline stage")
        if k == "pipeline_id":
            return ref({p["id"] for p in PIPELINES}, v, "Pipeline")
        if k == "status_id":
            return v
        if k == "status":
            if entity == "opportunities" and v not in OPP_STATUS:
                raise Invalid(k, "is not included in the list")
            return v
        if k == "priority":
            if v not in PRIORITIES:
                raise Invalid(k, "is not included in the list")
            return v
        if k in ("monetary_value", "win_probability"):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise Invalid(k, "is not a number")
            return v
        if k == "close_date":
            # §2.3: "MM/DD/YYYY" (DD/MM by account locale; this account is US).
            if v is not None and not (isinstance(v, str) and re.match(r"^\d\d/\d\d/\d{4}$", v)):
                raise Invalid(k, "must be a date as MM/DD/YYYY")
            return v
        if k == "address":
            if v is None:
                return None
            if not isinstance(v, dict):
                raise Invalid(k, "must be an object")
            self.unknown_keys(v, ADDRESS_KEYS)
            return {a: v.get(a) for a in ADDRESS_KEYS}
        if k == "emails":
            return self.entries(k, v, "email", EMAIL_CATS)
        if k == "email":
            if v is None:
                return None
            return self.entries(k, [v], "email", EMAIL_CATS)[0]
        if k == "phone_numbers":
            return self.entries(k, v, "number", PHONE_CATS)
        if k in ("websites", "socials"):
            return self.entries(k, v, "url", None)
        if k == "tags":
            if not isinstance(v, list) or not all(isinstance(t, str) for t in v):
                raise Invalid(k, "must be a list of strings")
            return list(dict.fromkeys(v))
        if k == "custom_fields":
            if not isinstance(v, list):
                raise Invalid(k, "must be a list")
            out = []
            for c in v:
                if not isinstance(c, dict):
                    raise Invalid(k, "must be a list of objects")
                self.unknown_keys(c, ("custom_field_definition_id", "value"))
                d = DEF_BY_ID.get(c.get("custom_field_definition_id"))
                if d is None or SINGULAR[entity] not in d["available_on"]:
                    raise Invalid("custom_fields", "Invalid custom field definition id: %s"
                                  % c.get("custom_field_definition_id"), "Custom fields")
                out.append({"custom_field_definition_id": d["id"], "value": self.custom_value(d, c.get("value"))})
            return out
        raise Invalid(k, "is invalid")

    @staticmethod
    def custom_value(d, v):
        if v is None:
            return None
        t = d["data_type"]
        bad = Invalid("custom_fields", "Invalid value for %s: %s" % (d["name"], v), "Custom fields")
        if t in ("String", "Text", "URL"):
            if not isinstance(v, str):
                raise bad
        elif t in ("Float", "Currency", "Percentage"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise bad
        elif t == "Checkbox":
            if not isinstance(v, bool):
                raise bad
        elif t == "Dropdown":
            if v not in {o["id"] for o in d["options"]}:
                raise bad
        elif t == "MultiSelect":
            if not isinstance(v, list) or any(x not in {o["id"] for o in d["options"]} for x in v):
                raise bad
        elif t == "Date":
            # §2.1: seconds or "MM/DD/YYYY" (sources conflict): both accepted.
            if not (isinstance(v, int) or (isinstance(v, str) and re.match(r"^\d\d/\d\d/\d{4}$", v))):
                raise bad
        return v

    def entries(self, k, v, valkey, cats):
        if not isinstance(v, list):
            raise Invalid(k, "must be a list")
        out = []
        for e in v:
            if not isinstance(e, dict):
                raise Invalid(k, "must be a list of objects")
            self.unknown_keys(e, (valkey, "category"))
            if not isinstance(e.get(valkey), str) or not e[valkey].strip():
                raise Invalid(k, "%s can't be blank" % valkey)
            if cats and e.get("category") not in cats:
                raise Invalid(k, "category is not included in the list")
            if valkey == "email" and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", e["email"]):
                raise Invalid(k, "%s is not a valid email" % e["email"])
            out.append({valkey: e[valkey], "category": e.get("category")})
        return out

    def blank(self, entity):
        """A new record's keys, all empty."""
        keys = WRITABLE[entity] + READ_ONLY[entity]
        rec = {k: None for k in keys}
        for k in ("emails", "phone_numbers", "socials", "tags", "websites", "leads_converted_from"):
            if k in rec:
                rec[k] = []
        rec["interaction_count"] = 0
        rec["custom_fields"] = [{"custom_field_definition_id": d["id"], "value": None}
                                for d in CUSTOM_DEFS if SINGULAR[entity] in d["available_on"]]
        if entity == "opportunities":
            rec.update(status="Open", priority="None", pipeline_id=PIPELINES[0]["id"],
                       pipeline_stage_id=PIPELINES[0]["stages"][0]["id"], pipeline_is_revenue=True)
        if entity == "leads":
            rec.update(status="New", status_id=208231)
        return rec

    def do_create(self, entity, body):
        out = self.clean(entity, body)
        if "custom_fields" in out:
            given = {c["custom_field_definition_id"]: c for c in out["custom_fields"]}
            out["custom_fields"] = [given.get(c["custom_field_definition_id"], c)
                                    for c in self.blank(entity)["custom_fields"]]
        num = self.next_id[entity]
        self.next_id[entity] += 1
        now = self.now()
        rec = {"id": num}
        rec.update((k, v) for k, v in self.blank(entity).items() if k != "id")
        rec.update(out)
        rec.update(date_created=now, date_modified=now)
        if entity == "opportunities" and "win_probability" not in out:
            rec["win_probability"] = STAGES[rec["pipeline_stage_id"]]["win_probability"]
        self.data[entity][num] = rec
        return rec

    def do_update(self, entity, rec, body):
        out = self.clean(entity, body, rec)
        new = dict(rec, **out)
        new["date_modified"] = self.now()
        self.data[entity][rec["id"]] = new
        return new

    def create(self, req, entity):
        return json_response(200, self.do_create(entity, self.body(req)))

    def get(self, req, entity, ident):
        return json_response(200, self.get_rec(entity, ident))

    def update(self, req, entity, ident):
        rec = self.get_rec(entity, ident)
        return json_response(200, self.do_update(entity, rec, self.body(req)))

    def delete(self, req, entity, ident):
        rec = self.get_rec(entity, ident)
        # §5: permanent; no recycle bin, no tombstone.
        del self.data[entity][rec["id"]]
        return json_response(200, {"id": rec["id"], "is_deleted": True})

    def fetch_by_email(self, req):
        b = self.body(req)
        self.unknown_keys(b, ("email",))
        rec = self.person_by_email(b.get("email"))
        if rec is None:
            raise HttpError(envelope(404, "Resource not found"))
        return json_response(200, rec)

    @staticmethod
    def item_error(e, ident=None):
        # §6: a failed bulk item: {"success": false, "message": {field: [{"error": ...}]}}.
        out = {"success": False, "message": {e.field: [{"error": e.reason}]}}
        if ident is not None:
            out["id"] = ident
        return out

    def bulk_items(self, req, entity):
        b = self.body(req)
        self.unknown_keys(b, (entity,))
        items = b.get(entity)
        if not isinstance(items, list):
            raise HttpError(invalid("%s: can't be blank" % entity.capitalize()))
        if len(items) > BULK_MAX:
            raise HttpError(json_response(422, {"error": "Request size too large, limit is %d" % BULK_MAX}))
        return items

    def bulk_create(self, req, entity):
        out = []
        seen = set()
        for it in self.bulk_items(req, entity):
            try:
                if entity == "people" and isinstance(it, dict):
                    # §6: an email repeated in the batch fails that item.
                    for e in it.get("emails") or []:
                        if isinstance(e, dict) and str(e.get("email")).lower() in seen:
                            raise Invalid("emails", "%s has already been taken" % e.get("email"))
                out.append(self.do_create(entity, it))
                for e in out[-1].get("emails") or []:
                    seen.add(e["email"].lower())
            except Invalid as e:
                out.append(self.item_error(e))
            except HttpError as e:
                msg = json.loads(e.response.body).get("message", "invalid")
                out.append({"success": False, "message": {"base": [{"error": msg}]}})
        return json_response(200, out)

    def bulk_update(self, req, entity):
        out = []
        for it in self.bulk_items(req, entity):
            ident = it.get("id") if isinstance(it, dict) else None
            try:
                rec = self.data[entity].get(ident) if isinstance(ident, int) else None
                if rec is None:
                    raise Invalid("id", "Resource not found")
                body = {k: v for k, v in it.items() if k != "id"}
                out.append(self.do_update(entity, rec, body))
            except Invalid as e:
                out.append(self.item_error(e, ident))
            except HttpError as e:
                msg = json.loads(e.response.body).get("message", "invalid")
                out.append({"success": False, "message": {"base": [{"error": msg}]}, "id": ident})
        return json_response(200, out)

    def lead_upsert(self, req):
        b = self.body(req)
        self.unknown_keys(b, ("properties", "match"))
        props, match = b.get("properties"), b.get("match")
        if not isinstance(props, dict) or not isinstance(match, dict):
            raise Invalid("properties", "can't be blank")
        self.unknown_keys(match, ("field_name", "field_value"))
        field, value = match.get("field_name"), match.get("field_value")
        leads = self.data["leads"].values()
        if field == "email":
            v = str(value or "").lower()
            hits = [r for r in leads if ((r.get("email") or {}).get("email") or "").lower() == v]
        elif field == "name":
            hits = [r for r in leads if (r.get("name") or "") == value]
        elif field == "custom":
            if not isinstance(value, dict):
                raise Invalid("match", "field_value must be an object")
            hits = [r for r in leads if any(c["custom_field_definition_id"] == value.get("custom_field_definition_id")
                                            and c["value"] == value.get("value") for c in r["custom_fields"])]
        else:
            raise Invalid("match", "field_name is not included in the list")
        if len(hits) > 30:
            raise HttpError(invalid("Match: more than 30 leads match"))
        if len(hits) > 1:
            raise HttpError(invalid("Match: multiple leads match: " + ", ".join(str(h["id"]) for h in hits)))
        if hits:
            return json_response(200, self.do_update("leads", hits[0], props))
        if field == "email" and "email" not in props:
            props = dict(props, email={"email": value, "category": "work"})
        return json_response(200, self.do_create("leads", props))


def create(options):
    return Copper(options)
