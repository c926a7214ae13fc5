"""HubSpot emulator for crmsync.

Speaks the wire protocol described in ../../../shared/api/hubspot.md (paths,
status codes, bodies, caps, headers, errors) well enough that the official
@hubspot/api-client works against it unchanged (sdk/hubspot_sdk_check.mjs).
Facts marked "unverified" are choices where hubspot.md is silent or unsure.

Layout: the tables of HubSpot facts first, then the record store, the seeder,
and the HubSpot class whose methods are the endpoint handlers.
"""

import bisect
import copy
import json
import re
import secrets
import sys
import threading
import traceback

import core
from core import (
    HttpError, BadJson, Fake, Router, RollingWindow, DailyCounter, iso_ms, parse_time,
    json_response, empty_response, raw_response, encode_cursor, decode_cursor, new_uuid, ascii_slug, dumps,
)

# ====================================================================== facts

PORTAL_ID = 4242
DEMO_TOKEN = "demo"                       # static private-app style token, never expires
OAUTH_CLIENT_ID = "demo-client"
OAUTH_CLIENT_SECRET = "demo-secret"
OAUTH_REFRESH_TOKEN = "demo-refresh"
TOKEN_TTL_S = 1800
SCOPES = ["oauth", "crm.objects.contacts.read", "crm.objects.contacts.write",
          "crm.objects.companies.read", "crm.objects.companies.write",
          "crm.objects.deals.read", "crm.objects.deals.write", "crm.objects.leads.read",
          "crm.objects.leads.write", "crm.objects.owners.read", "crm.lists.read", "crm.lists.write"]

BURST_LIMIT = 190             # calls per rolling 10 s per token (private app, Enterprise)
BURST_WINDOW_MS = 10_000
DAILY_LIMIT = 1_000_000
URL_MAX = 16_300              # §12.5: a longer URL is answered 414
SEARCH_PER_SECOND = 5         # separate bucket; search answers carry no rate headers
ACCOUNT_UTC_OFFSET_MS = -5 * 3600 * 1000   # US/Eastern (standard time); daily limit resets there

LIST_DEFAULT, LIST_MAX = 10, 100
BATCH_MAX = 100
BATCH_HISTORY_MAX = 50
SEARCH_DEFAULT, SEARCH_MAX, SEARCH_RESULT_CAP = 10, 200, 10_000
SEARCH_MAX_GROUPS, SEARCH_MAX_FILTERS_PER_GROUP, SEARCH_MAX_FILTERS = 5, 6, 18
ASSOC_INLINE_MAX = 500        # unverified: inline association lists are truncated with paging
ASSOC_PAGE_MAX = 500
V4_BATCH_READ_MAX = 1000
OWNERS_DEFAULT, OWNERS_MAX = 100, 500            # max 500 is unverified
LISTS_SEARCH_DEFAULT, LISTS_SEARCH_MAX = 20, 500
MEMBERSHIPS_DEFAULT, MEMBERSHIPS_MAX = 100, 250

PROD = "https://api.hubapi.com"   # paging.next.link points at production, as real HubSpot's does

MSG_NO_AUTH = ("Authentication credentials not found. This API supports OAuth 2.0 authentication "
               "and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview")
RATE_BODIES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "DAILY": "You have reached your daily limit.",
    "SECONDLY": "You have reached your secondly limit.",
}


class Prop:
    """One property definition (GET /crm/v3/properties/{t})."""

    def __init__(self, name, label, ptype, field, group, flags="", options=(), description=""):
        self.name, self.label, self.type, self.field, self.group = name, label, ptype, field, group
        self.read_only = "ro" in flags.split()
        self.calculated = "calc" in flags.split()
        self.unique = "unique" in flags.split()
        self.custom = "custom" in flags.split()
        self.options = [(v, lbl) for v, lbl in options]
        self.option_values = {v for v, _ in self.options}
        self.description = description

    def definition(self, order):
        d = {
            "name": self.name, "label": self.label, "type": self.type, "fieldType": self.field,
            "description": self.description, "groupName": self.group,
            "options": [{"label": lbl, "value": v, "description": "", "displayOrder": i, "hidden": False}
                        for i, (v, lbl) in enumerate(self.options)],
            "displayOrder": order, "calculated": self.calculated,
            "externalOptions": self.name == "hubspot_owner_id",
            "hasUniqueValue": self.unique, "hidden": False,
            "hubspotDefined": not self.custom,
            "modificationMetadata": {"archivable": self.custom, "readOnlyDefinition": not self.custom,
                                     "readOnlyValue": self.read_only or self.calculated},
            "formField": not (self.read_only or self.calculated),
            "createdAt": "2024-03-01T09:00:00.000Z", "updatedAt": "2025-02-11T15:30:00.000Z",
            "archived": False,
        }
        if self.name == "hubspot_owner_id":
            d["referencedObjectType"] = "OWNER"
        if self.custom:
            d["createdUserId"] = d["updatedUserId"] = "9000077"
        return d


def opts(*values):
    """opts("lead=Lead", "x") -> [("lead", "Lead"), ("x", "x")]."""
    out = []
    for v in values:
        value, _, label = v.partition("=")
        out.append((value, label or value))
    return out


LIFECYCLE = opts("subscriber=Subscriber", "lead=Lead", "marketingqualifiedlead=Marketing Qualified Lead",
                 "salesqualifiedlead=Sales Qualified Lead", "opportunity=Opportunity",
                 "customer=Customer", "evangelist=Evangelist", "other=Other")
INDUSTRIES = opts("COMPUTER_SOFTWARE=Computer Software",
                  "INFORMATION_TECHNOLOGY_AND_SERVICES=Information Technology and Services",
                  "FINANCIAL_SERVICES=Financial Services", "HOSPITAL_HEALTH_CARE=Hospital & Health Care",
                  "RETAIL=Retail", "MACHINERY=Machinery", "MARKETING_AND_ADVERTISING=Marketing and Advertising",
                  "FOOD_BEVERAGES=Food & Beverages", "TELECOMMUNICATIONS=Telecommunications",
                  "LOGISTICS_AND_SUPPLY_CHAIN=Logistics and Supply Chain", "BIOTECHNOLOGY=Biotechnology")
LEAD_STATUS = opts("NEW=New", "OPEN=Open", "IN_PROGRESS=In Progress", "OPEN_DEAL=Open Deal",
                   "UNQUALIFIED=Unqualified", "ATTEMPTED_TO_CONTACT=Attempted to Contact",
                   "CONNECTED=Connected", "BAD_TIMING=Bad Timing")
COLOURS = opts("teal=Teal", "red=Red", "green=Green", "blue=Blue", "ochre=Ochre", "magenta=Magenta")
CURRENCIES = opts("USD=US Dollar", "EUR=Euro", "GBP=British Pound", "DKK=Danish Krone", "PLN=Polish Złoty",
                  "JPY=Japanese Yen")

# Deal pipelines (GET /crm/v3/pipelines/deals). WON = closed + probability 1.0.
DEAL_PIPELINES = [
    {"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "stages": [
        ("appointmentscheduled", "Appointment Scheduled", "0.2", False),
        ("qualifiedtobuy", "Qualified To Buy", "0.4", False),
        ("presentationscheduled", "Presentation Scheduled", "0.6", False),
        ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
        ("contractsent", "Contract Sent", "0.9", False),
        ("closedwon", "Closed Won", "1.0", True),
        ("closedlost", "Closed Lost", "0.0", True)]},
    # A second, portal-defined pipeline: numeric ids as HubSpot gives custom pipelines.
    {"id": "88312903", "label": "Renewals — Ørsted region", "displayOrder": 1, "stages": [
        ("88312904", "Renewal due", "0.5", False),
        ("88312905", "Negotiation", "0.7", False),
        ("88312906", "Renewed", "1.0", True),
        ("88312907", "Churned", "0.0", True)]},
]
# Lead pipeline ids are unverified (names seen in public samples).
LEAD_PIPELINES = [
    {"id": "lead-pipeline-id", "label": "Lead pipeline", "displayOrder": 0, "stages": [
        ("new-stage-id", "New", "0.1", False), ("attempting-stage-id", "Attempting", "0.2", False),
        ("connected-stage-id", "Connected", "0.4", False), ("qualified-stage-id", "Qualified", "1.0", True),
        ("unqualified-stage-id", "Disqualified", "0.0", True)]},
]
STAGE_PIPELINE = {s[0]: p["id"] for p in DEAL_PIPELINES for s in p["stages"]}
STAGE_WON = {s[0] for p in DEAL_PIPELINES for s in p["stages"] if s[3] and s[2] == "1.0"}


def _common(group):
    return [
        Prop("hubspot_owner_id", "Owner", "enumeration", "select", group),
        Prop("createdate", "Create Date", "datetime", "date", group, "ro"),
        Prop("hs_object_id", "Record ID", "number", "number", group, "ro"),
    ]


def _activity(group):
    return [
        Prop("notes_last_updated", "Last Activity Date", "datetime", "date", group, "ro"),
        Prop("notes_last_contacted", "Last Contacted", "datetime", "date", group, "ro"),
        Prop("notes_next_activity_date", "Next Activity Date", "datetime", "date", group, "ro"),
    ]


CONTACT_PROPS = [
    Prop("firstname", "First Name", "string", "text", "contactinformation"),
    Prop("lastname", "Last Name", "string", "text", "contactinformation"),
    Prop("jobtitle", "Job Title", "string", "text", "contactinformation"),
    Prop("email", "Email", "string", "text", "contactinformation", "unique"),
    Prop("hs_additional_emails", "Additional email addresses", "enumeration", "checkbox",
         "contactinformation", "ro", description="Semicolon-separated list"),
    Prop("phone", "Phone Number", "string", "phonenumber", "contactinformation"),
    Prop("mobilephone", "Mobile Phone Number", "string", "phonenumber", "contactinformation"),
    Prop("fax", "Fax Number", "string", "phonenumber", "contactinformation"),
    Prop("address", "Street Address", "string", "text", "contactinformation"),
    Prop("city", "City", "string", "text", "contactinformation"),
    Prop("state", "State/Region", "string", "text", "contactinformation"),
    Prop("zip", "Postal Code", "string", "text", "contactinformation"),
    Prop("country", "Country/Region", "string", "text", "contactinformation"),
    Prop("company", "Company Name", "string", "text", "contactinformation"),
    Prop("website", "Website URL", "string", "text", "contactinformation"),
    Prop("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", "contactinformation", options=LIFECYCLE),
    Prop("hs_lead_status", "Lead Status", "enumeration", "radio", "sales_properties", options=LEAD_STATUS),
    Prop("numemployees", "Number of Employees", "enumeration", "select", "contactinformation",
         options=opts("1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+")),
    Prop("associatedcompanyid", "Primary Associated Company ID", "number", "number", "contactinformation"),
    Prop("lastmodifieddate", "Last Modified Date", "datetime", "date", "contactinformation", "ro"),
] + _common("contactinformation") + _activity("contact_activity") + [
    Prop("favourite_colour", "Favourite colour", "enumeration", "checkbox", "contactinformation", "custom",
         options=COLOURS),
    Prop("loyalty_tier", "Loyalty tier", "string", "text", "contactinformation", "custom"),
]

COMPANY_PROPS = [
    Prop("name", "Company name", "string", "text", "companyinformation"),
    Prop("domain", "Company Domain Name", "string", "text", "companyinformation"),
    Prop("description", "Description", "string", "textarea", "companyinformation"),
    Prop("industry", "Industry", "enumeration", "select", "companyinformation", options=INDUSTRIES),
    Prop("numberofemployees", "Number of Employees", "number", "number", "companyinformation"),
    Prop("annualrevenue", "Annual Revenue", "number", "number", "companyinformation"),
    Prop("phone", "Phone Number", "string", "phonenumber", "companyinformation"),
    Prop("address", "Street Address", "string", "text", "companyinformation"),
    Prop("address2", "Street Address 2", "string", "text", "companyinformation"),
    Prop("city", "City", "string", "text", "companyinformation"),
    Prop("state", "State/Region", "string", "text", "companyinformation"),
    Prop("zip", "Postal Code", "string", "text", "companyinformation"),
    Prop("country", "Country/Region", "string", "text", "companyinformation"),
    Prop("website", "Website URL", "string", "text", "companyinformation"),
    Prop("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", "companyinformation", options=LIFECYCLE),
    Prop("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "companyinformation", "ro"),
] + _common("companyinformation") + _activity("company_activity") + [
    Prop("region", "Sales region", "enumeration", "select", "companyinformation", "custom",
         options=opts("EMEA", "AMER", "APAC")),
]

DEAL_PROPS = [
    Prop("dealname", "Deal Name", "string", "text", "dealinformation"),
    Prop("amount", "Amount", "number", "number", "dealinformation"),
    Prop("dealstage", "Deal Stage", "enumeration", "radio", "dealinformation",
         options=[(s[0], s[1]) for p in DEAL_PIPELINES for s in p["stages"]]),
    Prop("pipeline", "Pipeline", "enumeration", "select", "dealinformation",
         options=[(p["id"], p["label"]) for p in DEAL_PIPELINES]),
    Prop("closedate", "Close Date", "datetime", "date", "dealinformation"),
    Prop("description", "Deal Description", "string", "textarea", "dealinformation"),
    Prop("deal_currency_code", "Currency", "enumeration", "select", "dealinformation", options=CURRENCIES),
    Prop("hs_is_closed_won", "Is Closed Won", "bool", "booleancheckbox", "dealinformation", "calc",
         options=opts("true=True", "false=False")),
    Prop("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "dealinformation", "ro"),
] + _common("dealinformation") + _activity("deal_activity") + [
    Prop("deal_source", "Deal source", "enumeration", "select", "dealinformation", "custom",
         options=opts("website=Website", "referral=Referral", "partner=Partner", "trade_show=Trade show")),
]

LEAD_PROPS = [
    Prop("hs_lead_name", "Lead name", "string", "text", "leadinformation"),
    Prop("hs_lead_type", "Lead type", "enumeration", "select", "leadinformation",
         options=opts("NEW_BUSINESS=New Business", "UPSELL=Upsell", "RE_ATTEMPTING=Re-attempting")),
    Prop("hs_lead_label", "Lead label", "enumeration", "select", "leadinformation",
         options=opts("HOT=Hot", "WARM=Warm", "COLD=Cold")),
    Prop("hs_pipeline", "Pipeline", "enumeration", "select", "leadinformation",
         options=[(p["id"], p["label"]) for p in LEAD_PIPELINES]),
    Prop("hs_pipeline_stage", "Lead stage", "enumeration", "select", "leadinformation",
         options=[(s[0], s[1]) for p in LEAD_PIPELINES for s in p["stages"]]),
    Prop("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "leadinformation", "ro"),
] + _common("leadinformation")


class ObjType:
    def __init__(self, name, type_id, singular, first_id, modified, defaults, text_fields, props):
        self.name, self.type_id, self.singular = name, type_id, singular
        self.first_id, self.modified = first_id, modified
        self.props = {p.name: p for p in props}
        # Without ?properties= only these come back (hubspot.md §2.1; leads unverified).
        self.defaults = tuple(defaults) + ("createdate", modified, "hs_object_id")
        self.text_fields = text_fields  # searched by the free-text `query` of search


OBJECTS = {
    "contacts": ObjType("contacts", "0-1", "CONTACT", 101, "lastmodifieddate",
                        ("firstname", "lastname", "email"),
                        ("firstname", "lastname", "email", "phone", "company", "hs_additional_emails"),
                        CONTACT_PROPS),
    "companies": ObjType("companies", "0-2", "COMPANY", 5001, "hs_lastmodifieddate", ("name", "domain"),
                         ("name", "domain", "website", "phone"), COMPANY_PROPS),
    "deals": ObjType("deals", "0-3", "DEAL", 9001, "hs_lastmodifieddate",
                     ("dealname", "amount", "closedate", "pipeline", "dealstage"), ("dealname",), DEAL_PROPS),
    "leads": ObjType("leads", "0-136", "LEAD", 20001, "hs_lastmodifieddate", ("hs_lead_name",),
                     ("hs_lead_name",), LEAD_PROPS),
}
OBJECT_ALIASES = {"contact": "contacts", "company": "companies", "deal": "deals", "lead": "leads",
                  "0-1": "contacts", "0-2": "companies", "0-3": "deals", "0-136": "leads"}
# --records accepts crmsync's unified names too.
SEED_ALIASES = {"accounts": "companies", "account": "companies", "users": "owners", "user": "owners",
                "owners": "owners", "lists": "lists"}


class AssocType:
    def __init__(self, frm, to, type_id, label, name, reverse, unique=False):
        self.frm, self.to, self.id, self.label, self.name, self.reverse = frm, to, type_id, label, name, reverse
        self.unique = unique  # at most one per "from" record (primary)


# HUBSPOT_DEFINED association types (hubspot.md §6). Reverse ids of the lead
# types (579, 581) are unverified; 1/279, 2/280, 5/341, 6/342, 3, 4 per the v4 guide.
ASSOC_TYPES = {a.id: a for a in [
    AssocType("contacts", "companies", 1, "Primary", "contact_to_company", 2, unique=True),
    AssocType("contacts", "companies", 279, None, "contact_to_company_unlabeled", 280),
    AssocType("companies", "contacts", 2, "Primary", "company_to_contact", 1),
    AssocType("companies", "contacts", 280, None, "company_to_contact_unlabeled", 279),
    AssocType("deals", "companies", 5, "Primary", "deal_to_company", 6, unique=True),
    AssocType("deals", "companies", 341, None, "deal_to_company_unlabeled", 342),
    AssocType("companies", "deals", 6, "Primary", "company_to_deal", 5),
    AssocType("companies", "deals", 342, None, "company_to_deal_unlabeled", 341),
    AssocType("deals", "contacts", 3, None, "deal_to_contact", 4),
    AssocType("contacts", "deals", 4, None, "contact_to_deal", 3),
    AssocType("leads", "contacts", 578, "Primary", "lead_to_primary_contact", 579, unique=True),
    AssocType("contacts", "leads", 579, None, "contact_to_lead", 578),
    AssocType("leads", "companies", 580, None, "lead_to_company", 581),
    AssocType("companies", "leads", 581, None, "company_to_lead", 580),
]}
DEFAULT_ASSOC = {("contacts", "companies"): 279, ("companies", "contacts"): 280,
                 ("deals", "companies"): 341, ("companies", "deals"): 342,
                 ("deals", "contacts"): 3, ("contacts", "deals"): 4,
                 ("leads", "contacts"): 578, ("contacts", "leads"): 579,
                 ("leads", "companies"): 580, ("companies", "leads"): 581}

SEARCH_OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
                    "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
EMAIL_RX = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")
NUMBER_RX = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")

T = core.parse_time
CREATED_RANGE = (T("2025-01-01T00:00:00Z"), T("2025-12-31T23:59:59Z"))
UPDATED_RANGE = (T("2026-01-05T00:00:00Z"), T("2026-09-30T23:59:59Z"))
SEED_MEMBERSHIP_RANGE = (T("2026-02-01T00:00:00Z"), T("2026-06-30T00:00:00Z"))

# ============================================================ record store

_KEEP = object()


class Record:
    """An immutable CRM record; writes replace it with an evolved copy.

    Immutability makes reset cheap (the seeded records are shared) and the
    per-record JSON cache (ckey/cbytes) self-invalidating.
    """

    __slots__ = ("num", "id", "props", "created_ms", "updated_ms", "archived_ms", "assoc",
                 "created", "updated", "archived_at", "ckey", "cbytes")

    def __init__(self, num, props, created_ms, updated_ms, archived_ms=None, assoc=None,
                 created=None, updated=None):
        self.num, self.id = num, props.get("hs_object_id") or str(num)
        self.props = props
        self.created_ms, self.updated_ms, self.archived_ms = created_ms, updated_ms, archived_ms
        self.created = created or iso_ms(created_ms)
        self.updated = updated or iso_ms(updated_ms)
        self.archived_at = None if archived_ms is None else iso_ms(archived_ms)
        self.assoc = assoc or {}   # {to_type: ((to_num, type_id), ...)} sorted
        self.ckey = self.cbytes = None

    def evolve(self, props=None, updated_ms=None, archived_ms=_KEEP, assoc=None):
        return Record(self.num, self.props if props is None else props, self.created_ms,
                      self.updated_ms if updated_ms is None else updated_ms,
                      self.archived_ms if archived_ms is _KEEP else archived_ms,
                      self.assoc if assoc is None else assoc, created=self.created)

    @property
    def live(self):
        return self.archived_ms is None


class Table:
    """All records of one object type: seeded base + live state."""

    def __init__(self, otype):
        # Its own copy of the type: properties created through the API
        # (POST /crm/v3/properties/{t}) are this portal's, until a reset.
        self.t = copy.copy(otype)
        self.base_props = dict(otype.props)
        self.base, self.base_email = {}, {}
        self.base_next = otype.first_id
        self.reset()

    def reset(self):
        self.t.props = dict(self.base_props)
        self.recs = dict(self.base)
        self.order = sorted(self.recs)      # ids only grow, so appends keep it sorted
        self.email = dict(self.base_email)  # lowercase email -> num, live contacts only
        self.next_num = self.base_next

    def get(self, num, archived=False):
        rec = self.recs.get(num)
        if rec is None or (rec.archived_ms is not None) != archived:
            return None
        return rec

    def put(self, rec):
        old = self.recs.get(rec.num)
        self.recs[rec.num] = rec
        if self.t.name == "contacts":
            if old is not None and old.live:
                e = old.props.get("email")
                if e and self.email.get(e) == rec.num:
                    del self.email[e]
            if rec.live and rec.props.get("email"):
                self.email[rec.props["email"]] = rec.num
        return rec

    def insert(self, rec):
        self.order.append(rec.num)
        return self.put(rec)

    def seed(self, rec):
        self.base[rec.num] = rec
        if self.t.name == "contacts" and rec.live and rec.props.get("email"):
            self.base_email[rec.props["email"]] = rec.num
        self.base_next = rec.num + 1


def cursor(value):
    """HubSpot-style opaque cursor: base64 of the next id, '=' already URL-encoded."""
    return encode_cursor(value).replace("=", "%3D")


def stamp(otype, num, props, created_ms, updated_ms):
    """Set the system properties every record carries."""
    props["createdate"] = iso_ms(created_ms)
    props["hs_object_id"] = str(num)
    props[otype.modified] = iso_ms(updated_ms)
    return props


# ================================================================== seeding

def seed(hs, counts, seed_value):
    """Deterministic data from (counts, seed): owners, companies, contacts, deals, leads, lists."""
    n_owners = counts.get("owners", 5)
    n_companies = counts.get("companies", 10)
    n_contacts = counts.get("contacts", 50)
    n_deals = counts.get("deals", 10)
    n_leads = counts.get("leads", 5)

    # -- owners (read-only; ids 77 upward; a few deactivated)
    f = Fake(seed_value, "owners")
    hs.base_owners = []
    for i in range(n_owners):
        first, last = f.first_name(), f.last_name()
        archived = (n_owners >= 3 and i == n_owners - 1) or i % 10 == 9
        num = 77 + i
        created = f.timestamp(T("2023-01-01T00:00:00Z"), T("2024-06-30T00:00:00Z"))
        updated = f.timestamp(T("2024-07-01T00:00:00Z"), T("2025-06-30T00:00:00Z"))
        hs.base_owners.append({
            "id": str(num), "email": "%s.%s@crmsync-demo.example" % (ascii_slug(first), ascii_slug(last, "")),
            "firstName": first, "lastName": last,
            "userId": None if archived else 9000000 + num, "userIdIncludingInactive": 9000000 + num,
            "type": "PERSON", "archived": archived, "createdAt": iso_ms(created), "updatedAt": iso_ms(updated),
            "teams": [{"id": "1001" if i % 2 else "1002", "name": "Sales EMEA" if i % 2 else "Sales AMER",
                       "primary": True}],
        })
    owner_ids = [o["id"] for o in hs.base_owners if not o["archived"]] or [None]

    def owner(fk):
        return None if fk.chance(0.08) else fk.pick(owner_ids)

    def group_time(fk, n, size):
        return [fk.timestamp(*UPDATED_RANGE) for _ in range((n + size - 1) // size)]

    def put_props(props, **kv):
        for k, v in kv.items():
            if v not in (None, ""):
                props[k] = v
        return props

    # -- companies
    tab = hs.tables["companies"]
    t = tab.t
    f = Fake(seed_value, "companies")
    times = group_time(f, n_companies, 5)
    companies, live_companies = [], []
    for i in range(n_companies):
        num = t.first_id + i
        name = f.company_name()
        city, state, zipc, country, region = f.city()
        domain = "%s-%d.example.com" % (ascii_slug(name.split(" ")[0] + " " + name.split(" ")[1], "-"), num)
        created, updated = f.timestamp(*CREATED_RANGE), times[i // 5]
        archived = updated + f.int(3600_000, 20 * 86400_000) if f.chance(0.03) else None
        desc = None
        if f.chance(0.5):
            desc = f.pick(['Makers of "fine" widgets.\nFamily owned since 1999.',
                           "Zuverlässige Logistik für Europa — seit 1887.",
                           "Leading provider of cloud things; 24/7 support.",
                           "Café, bar & roastery. Ünique beans ☕"])
        props = put_props(
            {}, name=name, domain=domain, description=desc, industry=f.pick(INDUSTRIES)[0],
            numberofemployees=str(f.pick([5, 12, 48, 150, 420, 1200, 5000])),
            annualrevenue=str(f.int(1, 500) * 100000) if f.chance(0.6) else None,
            phone=f.phone(), address=f.street(), city=city, state=state, zip=zipc, country=country,
            website="https://www." + domain, hubspot_owner_id=owner(f),
            lifecyclestage=f.pick(["customer", "opportunity", "lead", "customer"]),
            region=region if f.chance(0.8) else None,
            notes_last_updated=iso_ms(f.timestamp(created, updated)) if f.chance(0.4) else None)
        stamp(t, num, props, created, updated)
        companies.append([num, props, created, updated, archived, [], {"companies": ((num, 1), (num, 279))}])
        if archived is None:
            live_companies.append(i)

    # -- contacts (updatedAt shared by blocks of 25; one block of 250 when >= 500)
    tab_c = hs.tables["contacts"]
    tc = tab_c.t
    f = Fake(seed_value, "contacts")
    times = group_time(f, n_contacts, 25)
    big_block_time = f.timestamp(*UPDATED_RANGE)
    titles = ["CTO", "CEO", "VP Sales", "Software Engineer", "Product Manager", "Marketing Director",
              "Head of Operations", "Account Executive", "CFO", None]
    contacts, live_contacts = [], []
    for i in range(n_contacts):
        num = tc.first_id + i
        first, last = f.first_name(), f.last_name()
        comp = companies[f.pick(live_companies)] if live_companies and f.chance(0.9) else None
        domain = comp[1]["domain"] if comp else f.pick(["gmail.com", "outlook.example", "proton.example"])
        email = "%s.%s.%d@%s" % (ascii_slug(first), ascii_slug(last, ""), num, domain)
        city, state, zipc, country, _ = comp and (comp[1].get("city"), comp[1].get("state"), comp[1].get("zip"),
                                                   comp[1].get("country"), None) or f.city()
        created = f.timestamp(*CREATED_RANGE)
        updated = big_block_time if (n_contacts >= 500 and 250 <= i < 500) else times[i // 25]
        archived = updated + f.int(3600_000, 20 * 86400_000) if f.chance(0.03) else None
        colours = None
        if f.chance(0.4):
            colours = f.pick(COLOURS)[0]
            if f.chance(0.2):
                colours += ";" + f.pick(COLOURS)[0]
        props = put_props(
            {}, firstname=first, lastname=last, email=email, jobtitle=f.pick(titles),
            phone=f.phone() if f.chance(0.8) else None, mobilephone=f.phone() if f.chance(0.3) else None,
            fax=f.phone() if f.chance(0.03) else None,
            address=f.street() if f.chance(0.7) else None, city=city, state=state, zip=zipc, country=country,
            company=comp[1]["name"] if comp else None,
            lifecyclestage=f.pick(["subscriber", "lead", "lead", "marketingqualifiedlead", "salesqualifiedlead",
                                   "opportunity", "customer", "customer", "evangelist", "other"]),
            hs_lead_status=f.pick(LEAD_STATUS)[0] if f.chance(0.3) else None,
            hubspot_owner_id=owner(f),
            associatedcompanyid=str(comp[0]) if comp else None,
            favourite_colour=colours,
            loyalty_tier=f.pick(["Gold", "Silver", "Bronze", "Platinum", "💎 Diamond"]) if f.chance(0.3) else None,
            hs_additional_emails=("%s@alt-mail.example" % ascii_slug(first + " " + last)) if f.chance(0.05) else None,
            notes_last_updated=iso_ms(f.timestamp(created, updated)) if f.chance(0.3) else None)
        stamp(tc, num, props, created, updated)
        assoc = {}
        if comp:
            # Records are immutable, so contacts of one company share one associations dict.
            assoc = comp[6]
            if archived is None:   # neighbours do not see archived records
                comp[5].extend([(num, 2), (num, 280)])
        contacts.append([num, props, created, updated, archived, assoc])
        if archived is None:
            live_contacts.append(i)

    # -- deals
    td = hs.tables["deals"].t
    f = Fake(seed_value, "deals")
    times = group_time(f, n_deals, 5)
    products = ["Platform licence", "Onboarding", "Support renewal", "Expansion — Nordics", "Pilot"]
    deals = []
    for i in range(n_deals):
        num = td.first_id + i
        pipe = DEAL_PIPELINES[1] if f.chance(0.2) else DEAL_PIPELINES[0]
        stage = f.pick(pipe["stages"])[0]
        comp = companies[f.pick(live_companies)] if live_companies and f.chance(0.95) else None
        created, updated = f.timestamp(*CREATED_RANGE), times[i // 5]
        archived = updated + f.int(3600_000, 20 * 86400_000) if f.chance(0.03) else None
        amount = f.pick([str(f.int(1, 200) * 500), "%d.%02d" % (f.int(100, 99999), f.int(0, 99))])
        props = put_props(
            {}, dealname="%s — %s" % (comp[1]["name"] if comp else "Direct", f.pick(products)),
            amount=amount if f.chance(0.9) else None, dealstage=stage, pipeline=pipe["id"],
            closedate=iso_ms(f.timestamp(T("2026-01-01T00:00:00Z"), T("2027-03-31T00:00:00Z")) // 1000 * 1000),
            description="Multi-line\nnotes with \"quotes\" and ünïcödé" if f.chance(0.2) else None,
            deal_currency_code=f.pick(["USD", "EUR", "GBP", "DKK"]), hubspot_owner_id=owner(f),
            hs_is_closed_won="true" if stage in STAGE_WON else "false",
            deal_source=f.pick(["website", "referral", "partner", "trade_show"]) if f.chance(0.5) else None,
            notes_last_updated=iso_ms(f.timestamp(created, updated)) if f.chance(0.3) else None)
        stamp(td, num, props, created, updated)
        assoc = {}
        if comp:
            assoc["companies"] = ((comp[0], 5), (comp[0], 341))
            if archived is None:
                comp[5].extend([(num, 6), (num, 342)])
        if live_contacts and f.chance(0.6):
            c = contacts[f.pick(live_contacts)]
            assoc["contacts"] = ((c[0], 3),)
            if archived is None:
                c[5] = dict(c[5])   # copy before changing a possibly shared dict
                c[5]["deals"] = list(c[5].get("deals", ())) + [(num, 4)]
        deals.append([num, props, created, updated, archived, assoc])

    # -- leads (each with a primary contact; hs_lead_name from the contact)
    tl = hs.tables["leads"].t
    f = Fake(seed_value, "leads")
    times = group_time(f, n_leads, 5)
    leads = []
    for i in range(n_leads):
        num = tl.first_id + i
        if not live_contacts:
            break
        c = contacts[f.pick(live_contacts)]
        created, updated = f.timestamp(*CREATED_RANGE), times[i // 5]
        archived = updated + f.int(3600_000, 20 * 86400_000) if f.chance(0.03) else None
        props = put_props(
            {}, hs_lead_name="%s %s" % (c[1].get("firstname", ""), c[1].get("lastname", "")),
            hs_lead_type=f.pick(["NEW_BUSINESS", "UPSELL", "RE_ATTEMPTING"]),
            hs_lead_label=f.pick(["HOT", "WARM", "COLD"]), hs_pipeline="lead-pipeline-id",
            hs_pipeline_stage=f.pick(LEAD_PIPELINES[0]["stages"])[0], hubspot_owner_id=owner(f))
        stamp(tl, num, props, created, updated)
        assoc = {"contacts": ((c[0], 578),)}
        comp_pairs = c[5].get("companies")
        if comp_pairs:
            assoc["companies"] = ((comp_pairs[0][0], 580),)
        if archived is None:
            c[5] = dict(c[5])
            c[5]["leads"] = list(c[5].get("leads", ())) + [(num, 579)]
            if comp_pairs:
                companies[comp_pairs[0][0] - t.first_id][5].append((num, 581))
        leads.append([num, props, created, updated, archived, assoc])

    # -- freeze into the tables
    frozen = {}

    def freeze(assoc):
        if isinstance(assoc, list):   # companies: flat list of (num, type) -> by type of the other side
            out = {}
            for num, tid in assoc:
                out.setdefault(ASSOC_TYPES[tid].to, []).append((num, tid))
            return {k: tuple(sorted(v)) for k, v in out.items()}
        if id(assoc) not in frozen:    # keep shared dicts shared
            frozen[id(assoc)] = (assoc, {k: tuple(sorted(v)) for k, v in assoc.items()})
        return frozen[id(assoc)][1]

    for name, rows in (("companies", companies), ("contacts", contacts), ("deals", deals), ("leads", leads)):
        tb = hs.tables[name]
        modified = tb.t.modified
        for row in rows:
            num, props, created, updated, archived, assoc = row[:6]
            tb.seed(Record(num, props, created, updated, archived, freeze(assoc),
                           created=props["createdate"], updated=props[modified]))

    # -- lists (ILS ids from 1): MANUAL, SNAPSHOT, DYNAMIC contact lists, a company list, an empty one
    f = Fake(seed_value, "lists")
    lo, hi = SEED_MEMBERSHIP_RANGE
    manual = {contacts[i][0]: f.timestamp(lo, hi) for i in live_contacts if f.chance(0.10)}
    snapshot = {contacts[i][0]: lo for i in live_contacts
                if contacts[i][1].get("lifecyclestage") == "lead" and f.chance(0.5)}
    key_accounts = {companies[i][0]: f.timestamp(lo, hi) for i in live_companies if f.chance(0.2)}
    defs = [
        ("1", "Newsletter — Zoë's picks", "0-1", "MANUAL", manual, None),
        ("2", "Trade show 2025 (Kraków) leads", "0-1", "SNAPSHOT", snapshot, None),
        ("3", "Customers — all regions", "0-1", "DYNAMIC", {}, ("lifecyclestage", "customer")),
        ("4", "Key accounts", "0-2", "MANUAL", key_accounts, None),
        ("5", "Empty static list", "0-1", "MANUAL", {}, None),
    ]
    hs.base_lists = {}
    for lid, name, otid, ptype, members, rule in defs:
        created = T("2025-11-03T10:00:00Z") + int(lid) * 3600_000
        hs.base_lists[lid] = {
            "listId": lid, "name": name, "objectTypeId": otid, "processingType": ptype,
            "processingStatus": "COMPLETE", "listVersion": 1, "createdAt": iso_ms(created),
            "updatedAt": iso_ms(created + 86400_000), "createdById": "9000077", "updatedById": "9000077",
            "filtersUpdatedAt": iso_ms(created), "members": members, "rule": rule, "deletedAt": None,
        }
    hs.base_next_list = len(defs) + 1


# ================================================================ provider

class InputError(Exception):
    """One batch input (or a whole single-record call) failed: an error body."""

    def __init__(self, status, category, message, **extra):
        super().__init__(message)
        self.status, self.category, self.message, self.extra = status, category, message, extra


class HubSpot:
    name = "hubspot"

    def __init__(self, options):
        self.clock = options.clock
        self.enforce = options.rate_limits != "off"
        self.lock = threading.RLock()
        self.tables = {n: Table(t) for n, t in OBJECTS.items()}
        counts = {}
        for k, v in (options.records or {}).items():
            k = SEED_ALIASES.get(k, OBJECT_ALIASES.get(k, k))
            if k not in self.tables and k not in ("owners", "lists"):
                raise ValueError("hubspot: unknown object %r in --records (known: contacts, accounts, "
                                 "deals, leads, users)" % k)
            counts[k] = v
        seed(self, counts, options.seed)
        self.burst = RollingWindow(options.burst or BURST_LIMIT, BURST_WINDOW_MS / 1000.0)
        self.search_bucket = RollingWindow(SEARCH_PER_SECOND, 1.0)
        self.daily = DailyCounter(options.daily_limit or DAILY_LIMIT, self.clock, ACCOUNT_UTC_OFFSET_MS)
        self.views = {}
        self.router = Router()
        self._routes()
        self.reset()

    def credentials(self, url):
        return "HUBSPOT_ACCESS_TOKEN=%s" % DEMO_TOKEN

    def reset(self):
        with self.lock:
            for t in self.tables.values():
                t.reset()
            self.owners = [dict(o) for o in self.base_owners]
            self.lists = {k: dict(v, members=dict(v["members"])) for k, v in self.base_lists.items()}
            self.next_list = self.base_next_list
            self.tokens = {}   # OAuth access token -> {"expires_ms", "forced"}
            self.burst.reset()
            self.search_bucket.reset()
            self.daily.reset()

    # ------------------------------------------------------------ plumbing
    def err(self, status, message, category=None, headers=None, **extra):
        cid = new_uuid()
        body = {"status": "error", "message": message, "correlationId": cid}
        if category:
            body["category"] = category
        body.update(extra)
        return json_response(status, body, [("x-hubspot-correlation-id", cid)] + list(headers or ()))

    def fail(self, status, message, category=None, **extra):
        raise HttpError(self.err(status, message, category, **extra))

    def ok(self, status, obj):
        return json_response(status, obj)

    def body(self, req):
        try:
            return req.json()
        except BadJson as e:
            self.fail(400, "Invalid input JSON on line %d, column %d: %s" % (e.line, e.col, e.msg),
                      "VALIDATION_ERROR")

    def table(self, name):
        t = self.tables.get(OBJECT_ALIASES.get(name.lower(), name.lower()))
        if t is None:
            self.fail(404, "Unable to infer object type from: %s" % name, "OBJECT_NOT_FOUND")
        return t

    def rate_limited(self, policy, headers=()):
        cid = new_uuid()
        return json_response(429, {"status": "error", "message": RATE_BODIES[policy], "errorType": "RATE_LIMIT",
                                   "correlationId": cid, "policyName": policy},
                             [("x-hubspot-correlation-id", cid)] + list(headers))

    def rate_headers(self, token, remaining=None):
        if remaining is None:
            remaining = self.burst.remaining(token)
        return [("X-HubSpot-RateLimit-Max", str(self.burst.limit)),
                ("X-HubSpot-RateLimit-Remaining", str(remaining)),
                ("X-HubSpot-RateLimit-Interval-Milliseconds", str(BURST_WINDOW_MS)),
                ("X-HubSpot-RateLimit-Daily", str(self.daily.limit)),
                ("X-HubSpot-RateLimit-Daily-Remaining", str(self.daily.remaining()))]

    def auth_failure(self, token):
        """None when the token is good, else the 401 response."""
        if token == DEMO_TOKEN:
            return None
        info = self.tokens.get(token) if token else None
        if info is None:
            return self.err(401, MSG_NO_AUTH, "INVALID_AUTHENTICATION",
                            headers=[("x-hubspot-auth-failure", "401 Unauthorized")])
        now = self.clock.now_ms()
        if info["forced"] or now >= info["expires_ms"]:
            return self.expired(info["expires_ms"] if not info["forced"] else info["forced"])
        return None

    def expired(self, expired_ms):
        ago = max(1, (self.clock.now_ms() - expired_ms) // 1000)
        return self.err(401, "The OAuth token used to make this call expired %d second(s) ago." % ago,
                        "EXPIRED_AUTHENTICATION", headers=[("x-hubspot-auth-failure", "401 Unauthorized")],
                        context={"expire time": [iso_ms(expired_ms)]})

    # One request: route, authenticate, rate-limit, run the handler.
    def handle(self, req):
        # §12.5: a URL past ~16,300 characters is refused with 414 (too many
        # `properties`).  Its body is not captured (unverified): the edge's
        # plain text, not HubSpot's JSON envelope.
        if len(req.path) + 1 + len(req.raw_query) > URL_MAX:
            return raw_response(414, "414 Request-URI Too Large", "text/plain")
        path = req.path[:-1] if len(req.path) > 1 and req.path.endswith("/") else req.path
        fn, groups = self.router.match(req.method, path)
        if fn is None:
            return self.err(404 if not groups else 405, "Unable to find a resource for %s %s" % (req.method, path),
                            "OBJECT_NOT_FOUND" if not groups else "METHOD_NOT_ALLOWED")
        if getattr(fn, "public", False):
            with self.lock:
                return self._run(fn, req, groups)
        token = req.bearer()
        with self.lock:
            bad = self.auth_failure(token)
            if bad is not None:
                return bad
            search = getattr(fn, "search", False)
            if search:
                ok, _ = self.search_bucket.hit(token, self.enforce)
                if not ok:
                    return self.rate_limited("SECONDLY")
                ok, _ = self.daily.hit(self.enforce)
                if not ok:
                    return self.rate_limited("DAILY")
                return self._run(fn, req, groups)
            ok, _ = self.daily.hit(self.enforce)
            if not ok:
                return self.rate_limited("DAILY", self.rate_headers(token))
            ok, remaining = self.burst.hit(token, self.enforce)
            if not ok:
                return self.rate_limited("TEN_SECONDLY_ROLLING", self.rate_headers(token, 0))
            resp = self._run(fn, req, groups)
            resp.headers.extend(self.rate_headers(token, remaining))
            return resp

    def _run(self, fn, req, groups):
        try:
            resp = fn(req, *groups)
        except HttpError as e:
            resp = e.response
        except (AttributeError, TypeError, KeyError, ValueError) as e:
            # A body of the wrong shape (say, a string where an object belongs).
            # HubSpot answers 400; the stderr line helps if it is our bug instead.
            where = traceback.extract_tb(e.__traceback__)[-1]
            sys.stderr.write("hubspot emulator: 400 for %s %s: %s: %s (hubspot.py:%d)\n"
                             % (req.method, req.path, type(e).__name__, e, where.lineno))
            resp = self.err(400, "Invalid input JSON: %s: %s" % (type(e).__name__, e), "VALIDATION_ERROR")
        if not any(k == "x-hubspot-correlation-id" for k, _ in resp.headers):
            resp.headers.append(("x-hubspot-correlation-id", new_uuid()))
        return resp

    # ------------------------------------------------------ control API hooks
    def fault_response(self, req, status, rule):
        if status == 429:
            return self.rate_limited("TEN_SECONDLY_ROLLING")
        if status == 401:
            return self.err(401, MSG_NO_AUTH, "INVALID_AUTHENTICATION",
                            headers=[("x-hubspot-auth-failure", "401 Unauthorized")])
        if status == 403:
            return self.err(403, "This app hasn't been granted all required scopes to make this call.",
                            "MISSING_SCOPES", errors=[{"message": "One or more of the following scopes are required.",
                                                       "context": {"requiredScopes": SCOPES[1:3]}}])
        reasons = {500: "internal error", 502: "Bad Gateway", 503: "Service Unavailable",
                   504: "Gateway Timeout", 423: "The record is locked; try again in a few seconds.",
                   477: "Migration in progress"}
        return self.err(status, reasons.get(status, "error %d" % status),
                        "INTERNAL_ERROR" if status >= 500 else "ERROR")

    def expire_token(self, req):
        with self.lock:
            token = req.bearer()
            now = self.clock.now_ms()
            info = self.tokens.get(token)
            if info is not None and not info["forced"]:
                info["forced"] = min(now, info["expires_ms"])
            return self.expired(info["forced"] if info else now - 1000)

    def redact_path(self, path):
        return re.sub(r"^(/oauth/v[13]/(?:access|refresh)-tokens/)[^/]+", r"\1" + core.REDACTED, path)

    def records(self, obj):
        name = SEED_ALIASES.get(obj, OBJECT_ALIASES.get(obj, obj))
        with self.lock:
            if name == "owners":
                return list(self.owners)
            if name == "lists":
                return [self.list_json(l, include_members=True) for l in self.lists.values()]
            tab = self.tables.get(name)
            if tab is None:
                return None
            every = tuple(sorted(ASSOC_PAIRS_FROM.get(name, ())))
            return [self.record_dict(tab, tab.recs[n], None, every, inline_cap=None) for n in tab.order]

    def touch(self, obj, body):
        """Server-side change: {"ids": [...], "properties": {...}, "updatedAt"?: ISO, "archived"?: bool}."""
        name = SEED_ALIASES.get(obj, OBJECT_ALIASES.get(obj, obj))
        with self.lock:
            tab = self.tables.get(name)
            if tab is None:
                return None
            when = parse_time(body.get("updatedAt")) if body.get("updatedAt") else self.clock.now_ms()
            props_in = body.get("properties") or {}
            touched = []
            for ident in body.get("ids") or []:
                rec = tab.recs.get(int(ident)) if str(ident).isdigit() else None
                if rec is None:
                    continue
                props = dict(rec.props)
                for k, v in props_in.items():
                    if v is None or v == "":
                        props.pop(k, None)
                    else:
                        props[k] = v if isinstance(v, str) else json.dumps(v) if isinstance(v, bool) else str(v)
                props[tab.t.modified] = iso_ms(when)
                archived = rec.archived_ms
                if "archived" in body:
                    archived = when if body["archived"] else None
                tab.put(rec.evolve(props=props, updated_ms=when, archived_ms=archived))
                touched.append(rec.id)
            return {"touched": touched, "updatedAt": iso_ms(when)}

    # ================================================================ routes
    def _routes(self):
        r = self.router
        obj = r"/crm/v3/objects/([^/]+)"

        def public(fn):          # no Authorization needed, no rate limit
            fn.__func__.public = True
            return fn

        def search_bucket(fn):   # the separate 5/s search limit, no rate headers
            fn.__func__.search = True
            return fn

        r.add("POST", r"/oauth/v[13]/token", public(self.oauth_token))
        r.add("GET", r"/oauth/v1/access-tokens/([^/]+)", public(self.oauth_token_info))
        r.add("GET", r"/account-info/v3/details", self.account_details)
        r.add("GET", r"/account-info/v3/api-usage/daily/private-apps", self.account_usage)
        r.add("GET", r"/crm/v3/properties/([^/]+)", self.properties_list)
        r.add("POST", r"/crm/v3/properties/([^/]+)", self.property_create)
        r.add("GET", r"/crm/v3/properties/([^/]+)/([^/]+)", self.property_get)
        r.add("GET", r"/crm/v3/pipelines/([^/]+)", self.pipelines_list)
        r.add("GET", r"/crm/v3/pipelines/([^/]+)/([^/]+)", self.pipeline_get)
        r.add("GET", r"/crm/v3/pipelines/([^/]+)/([^/]+)/stages", self.pipeline_stages)
        r.add("GET", r"/crm/v3/owners", self.owners_list)
        r.add("GET", r"/crm/v3/owners/([^/]+)", self.owner_get)
        # objects v3 (also the date-versioned copies, e.g. /crm/objects/2026-03/contacts)
        for base in (obj, r"/crm/objects/20\d\d-\d\d/([^/]+)"):
            r.add("POST", base + r"/batch/read", self.batch_read)
            r.add("POST", base + r"/batch/create", self.batch_create)
            r.add("POST", base + r"/batch/update", self.batch_update)
            r.add("POST", base + r"/batch/upsert", self.batch_upsert)
            r.add("POST", base + r"/batch/archive", self.batch_archive)
            r.add("POST", base + r"/search", search_bucket(self.search))
            r.add("GET", base, self.list_objects)
            r.add("POST", base, self.create_object)
            r.add("GET", base + r"/([^/]+)", self.get_object)
            r.add("PATCH", base + r"/([^/]+)", self.update_object)
            r.add("DELETE", base + r"/([^/]+)", self.archive_object)
        # associations v4
        v4o = r"/crm/v4/objects/([^/]+)/([^/]+)/associations"
        r.add("PUT", v4o + r"/default/([^/]+)/([^/]+)", self.v4_put_default)
        r.add("PUT", v4o + r"/([^/]+)/([^/]+)", self.v4_put_labelled)
        r.add("DELETE", v4o + r"/([^/]+)/([^/]+)", self.v4_delete)
        r.add("GET", v4o + r"/([^/]+)", self.v4_get_page)
        v4a = r"/crm/v4/associations/([^/]+)/([^/]+)"
        r.add("POST", v4a + r"/batch/associate/default", self.v4_batch_default)
        r.add("POST", v4a + r"/batch/create", self.v4_batch_create)
        r.add("POST", v4a + r"/batch/read", self.v4_batch_read)
        r.add("POST", v4a + r"/batch/archive", self.v4_batch_archive)
        r.add("GET", v4a + r"/labels", self.v4_labels)
        r.add("GET", r"/crm/associations/v4/([^/]+)/([^/]+)/labels", self.v4_labels)
        # lists v3
        r.add("POST", r"/crm/v3/lists/search", self.lists_search)
        r.add("GET", r"/crm/v3/lists", self.lists_get_many)
        r.add("POST", r"/crm/v3/lists", self.list_create)
        r.add("GET", r"/crm/v3/lists/object-type-id/([^/]+)/name/([^/]+)", self.list_by_name)
        r.add("GET", r"/crm/v3/lists/([^/]+)", self.list_get)
        r.add("DELETE", r"/crm/v3/lists/([^/]+)", self.list_delete)
        r.add("PUT", r"/crm/v3/lists/([^/]+)/restore", self.list_restore)
        r.add("GET", r"/crm/v3/lists/([^/]+)/memberships", self.memberships_page)
        r.add("GET", r"/crm/v3/lists/([^/]+)/memberships/join-order", self.memberships_page)
        r.add("PUT", r"/crm/v3/lists/([^/]+)/memberships/add", self.memberships_add)
        r.add("PUT", r"/crm/v3/lists/([^/]+)/memberships/remove", self.memberships_remove)
        r.add("PUT", r"/crm/v3/lists/([^/]+)/memberships/add-and-remove", self.memberships_add_remove)

    # ================================================================ OAuth
    def oauth_token(self, req):
        form = req.form_fields()
        if form.get("grant_type") != "refresh_token":
            return self.oauth_error("BAD_GRANT_TYPE", "grant_type must be refresh_token")
        if form.get("client_id") != OAUTH_CLIENT_ID:
            return self.oauth_error("BAD_CLIENT_ID", "missing or unknown client id")
        if form.get("client_secret") != OAUTH_CLIENT_SECRET:
            return self.oauth_error("BAD_CLIENT_SECRET", "missing or unknown client secret")
        if form.get("refresh_token") != OAUTH_REFRESH_TOKEN:
            return self.oauth_error("BAD_REFRESH_TOKEN", "missing or unknown refresh token")
        # Long tokens on purpose: real ones exceed 300 characters.
        token = "COj" + secrets.token_urlsafe(240)
        self.tokens[token] = {"expires_ms": self.clock.now_ms() + TOKEN_TTL_S * 1000, "forced": None}
        return self.ok(200, {"token_type": "bearer", "refresh_token": OAUTH_REFRESH_TOKEN,
                             "access_token": token, "expires_in": TOKEN_TTL_S, "hub_id": PORTAL_ID,
                             "user_id": 9000077, "scopes": SCOPES})

    def oauth_error(self, status_code, message):
        return json_response(400, {"status": status_code, "message": message, "correlationId": new_uuid()})

    def oauth_token_info(self, req, token):
        info = self.tokens.get(token)
        if info is None:
            return self.err(404, "Token not found", "OBJECT_NOT_FOUND")
        left = 0 if info["forced"] else max(0, (info["expires_ms"] - self.clock.now_ms()) // 1000)
        return self.ok(200, {"token": token, "user": "zoe.sorensen@crmsync-demo.example",
                             "hub_domain": "crmsync-demo.example", "scopes": SCOPES, "hub_id": PORTAL_ID,
                             "app_id": 424242, "expires_in": left, "user_id": 9000077, "token_type": "access"})

    # ========================================================== account info
    def account_details(self, req):
        return self.ok(200, {"portalId": PORTAL_ID, "accountType": "STANDARD" if getattr(self, "account", "sandbox") == "production" else "DEVELOPER_TEST",
                             "timeZone": "US/Eastern",
                             "companyCurrency": "USD", "additionalCurrencies": ["EUR", "GBP"],
                             "utcOffset": "-05:00", "utcOffsetMilliseconds": ACCOUNT_UTC_OFFSET_MS,
                             "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"})

    def account_usage(self, req):
        now = self.clock.now_ms()
        return self.ok(200, {"results": [{
            "name": "private-apps-api-calls-daily", "usageLimit": self.daily.limit,
            "currentUsage": self.daily.limit - self.daily.remaining(), "collectedAt": iso_ms(now),
            "fetchStatus": "SUCCESS", "resetsAt": iso_ms(self.daily.resets_at_ms())}]})

    # ====================================================== properties etc.
    def properties_list(self, req, t):
        tab = self.table(t)
        if req.flag("archived"):
            return self.ok(200, {"results": []})
        return self.ok(200, {"results": [p.definition(i) for i, p in enumerate(tab.t.props.values())]})

    # SPEC CRM/Properties create: 201 and the definition (hubspot.md §5,
    # §14).  Which fields are required, the name's alphabet and the 409
    # wording for a taken name are not captured (unverified): name, label,
    # type, fieldType and groupName required; lowercase names.
    PROP_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool", "phone_number"}

    def property_create(self, req, t):
        tab = self.table(t)
        body = self.body(req)
        if not isinstance(body, dict):
            self.fail(400, "Invalid input: a property definition is an object", "VALIDATION_ERROR")
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not isinstance(body.get(k), str)
                   or not body.get(k)]
        if missing:
            self.fail(400, "Invalid input: %s is required" % ", ".join(missing), "VALIDATION_ERROR")
        name = body["name"]
        if not re.match(r"^[a-z][a-z0-9_]*$", name) or len(name) > 100:
            self.fail(400, "Property name %r is invalid: lowercase letters, digits and underscores only" % name,
                      "VALIDATION_ERROR")
        if body["type"] not in self.PROP_TYPES:
            self.fail(400, "Invalid property type %r" % body["type"], "VALIDATION_ERROR")
        if name in tab.t.props:
            self.fail(409, "A property named '%s' already exists." % name, "OBJECT_ALREADY_EXISTS")
        opts = [(o.get("value"), o.get("label")) for o in body.get("options") or [] if isinstance(o, dict)]
        prop = Prop(name, body["label"], body["type"], body["fieldType"], body["groupName"],
                    "custom unique" if body.get("hasUniqueValue") else "custom", opts, body.get("description") or "")
        tab.t.props[name] = prop
        return self.ok(201, prop.definition(len(tab.t.props) - 1))

    def property_get(self, req, t, name):
        tab = self.table(t)
        p = tab.t.props.get(name)
        if p is None:
            self.fail(404, "Unable to find property %s for object type %s" % (name, tab.t.type_id),
                      "OBJECT_NOT_FOUND")
        return self.ok(200, p.definition(list(tab.t.props).index(name)))

    def pipeline_defs(self, t):
        name = OBJECT_ALIASES.get(t, t)
        if name == "deals":
            return DEAL_PIPELINES
        if name == "leads":
            return LEAD_PIPELINES
        self.fail(404, "Unable to find pipelines for object type %s" % t, "OBJECT_NOT_FOUND")

    @staticmethod
    def pipeline_json(p):
        ts = "2024-03-01T09:00:00.000Z"
        return {"id": p["id"], "label": p["label"], "displayOrder": p["displayOrder"], "archived": False,
                "createdAt": ts, "updatedAt": ts,
                "stages": [{"id": sid, "label": label, "displayOrder": i, "archived": False,
                            "metadata": {"probability": prob, "isClosed": "true" if closed else "false"},
                            "createdAt": ts, "updatedAt": ts, "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT"}
                           for i, (sid, label, prob, closed) in enumerate(p["stages"])]}

    def pipelines_list(self, req, t):
        return self.ok(200, {"results": [self.pipeline_json(p) for p in self.pipeline_defs(t)]})

    def pipeline_get(self, req, t, pid):
        for p in self.pipeline_defs(t):
            if p["id"] == pid:
                return self.ok(200, self.pipeline_json(p))
        self.fail(404, "Unable to find pipeline %s" % pid, "OBJECT_NOT_FOUND")

    def pipeline_stages(self, req, t, pid):
        return self.ok(200, {"results": json.loads(self.pipeline_get(req, t, pid).body)["stages"]})

    # ================================================================ owners
    def owners_list(self, req):
        archived = req.flag("archived")
        email = (req.arg("email") or "").lower()
        rows = [o for o in self.owners if o["archived"] == archived and (not email or o["email"] == email)]
        limit = self.int_arg(req, "limit", OWNERS_DEFAULT, 1, OWNERS_MAX)
        start = self.cursor_int(req.arg("after"), 0)
        page = [o for o in rows if int(o["id"]) >= start][:limit + 1]
        out = {"results": page[:limit]}
        if len(page) > limit:
            out["paging"] = {"next": {"after": cursor(page[limit]["id"]),
                                      "link": PROD + "/crm/v3/owners/?after=" + cursor(page[limit]["id"])}}
        return self.ok(200, out)

    def owner_get(self, req, ident):
        by = "userId" if req.arg("idProperty") == "userId" else "id"
        archived = req.flag("archived")
        for o in self.owners:
            if str(o.get("userIdIncludingInactive" if by == "userId" else "id")) == ident:
                if o["archived"] and not archived:
                    break
                return self.ok(200, o)
        self.fail(404, "resource not found")

    # ======================================================= record helpers
    def int_arg(self, req, name, default, lo, hi, clamp=True):
        v = req.arg(name)
        if v in (None, ""):
            return default
        try:
            n = int(v)
        except ValueError:
            self.fail(400, "Invalid value for %s: %s" % (name, v), "VALIDATION_ERROR")
        if clamp:
            return max(lo, min(hi, n))
        return n

    def cursor_int(self, after, default):
        if after in (None, ""):
            return default
        raw = decode_cursor(after)
        if raw is None and str(after).isdigit():
            raw = str(after)   # tolerate a bare id
        if raw is None or not raw.lstrip("-").isdigit():
            self.fail(400, "Invalid 'after' paging cursor: %s" % after, "VALIDATION_ERROR")
        return int(raw)

    def view(self, tab, names, assoc=(), history=()):
        """Interned view key: which properties (None = all) and inline associations to render."""
        if names is not None:
            seen, out = set(), []
            for n in names:
                n = n.strip()
                if n in tab.t.props and n not in seen:   # unknown names are ignored silently
                    seen.add(n)
                    out.append(n)
            names = tuple(out)
        key = (tab.t.name, names, tuple(assoc), tuple(h for h in history if h in tab.t.props))
        return self.views.setdefault(key, key)

    def request_view(self, tab, req, with_assoc=True):
        names = req.args("properties") or tab.t.defaults
        assoc = []
        if with_assoc:
            for a in req.args("associations"):
                a = OBJECT_ALIASES.get(a.lower(), a.lower())
                if a in self.tables and a not in assoc:
                    assoc.append(a)
        return self.view(tab, names, assoc, req.args("propertiesWithHistory"))

    def record_dict(self, tab, rec, names, assoc=(), history=(), inline_cap=ASSOC_INLINE_MAX):
        props = rec.props if names is None else {n: rec.props.get(n) for n in names}
        d = {"id": rec.id, "properties": props, "createdAt": rec.created, "updatedAt": rec.updated,
             "archived": rec.archived_ms is not None}
        if rec.archived_at:
            d["archivedAt"] = rec.archived_at
        if history:
            d["propertiesWithHistory"] = {
                h: ([{"value": rec.props[h], "timestamp": rec.updated, "sourceType": "API"}]
                    if h in rec.props else []) for h in history}
        if assoc:
            out = self.inline_associations(tab, rec, assoc, inline_cap)
            if out:
                d["associations"] = out
        return d

    @staticmethod
    def inline_associations(tab, rec, assoc, inline_cap=ASSOC_INLINE_MAX):
        """v3 inline shape: the same id repeats once per association type."""
        out = {}
        for to in assoc:
            pairs = rec.assoc.get(to, ())
            if not pairs:
                continue
            rows = [{"id": str(n), "type": ASSOC_TYPES[tid].name} for n, tid in pairs]
            block = {"results": rows if inline_cap is None else rows[:inline_cap]}
            if inline_cap is not None and len(rows) > inline_cap:
                nxt = cursor(inline_cap)
                block["paging"] = {"next": {"after": nxt, "link": "%s/crm/v4/objects/%s/%s/associations/%s?after=%s"
                                            % (PROD, tab.t.name, rec.id, to, nxt)}}
            out[to] = block
        return out

    def encode(self, tab, rec, view):
        """A record's JSON bytes for a view, cached on the (immutable) record.

        Same bytes as dumps(record_dict(...)), assembled by hand because this
        is the hot path of every list page served from a cold cache.
        """
        if rec.ckey is view:
            return rec.cbytes
        _, names, assoc, history = view
        if history:
            b = dumps(self.record_dict(tab, rec, names, assoc, history))
        else:
            props = rec.props if names is None else {n: rec.props.get(n) for n in names}
            parts = ['{"id":"', rec.id, '","properties":', _encode(props), ',"createdAt":"', rec.created,
                     '","updatedAt":"', rec.updated, '","archived":', "false" if rec.archived_ms is None else "true"]
            if rec.archived_at:
                parts += [',"archivedAt":"', rec.archived_at, '"']
            if assoc:
                inline = self.inline_associations(tab, rec, assoc)
                if inline:
                    parts += [',"associations":', _encode(inline)]
            parts.append("}")
            b = "".join(parts).encode("utf-8")
        rec.ckey, rec.cbytes = view, b
        return b

    def find(self, tab, ident, id_property=None, archived=False):
        """Record by id or by a unique property (email); None if missing."""
        ident = str(ident).strip()
        if id_property in (None, "", "hs_object_id"):
            return tab.get(int(ident), archived) if ident.isdigit() else None
        if id_property == "email" and tab.t.name == "contacts":
            e = ident.lower()
            if not archived:
                num = tab.email.get(e)
                return tab.recs[num] if num is not None else None
            for n in tab.order:
                r = tab.recs[n]
                if r.archived_ms is not None and r.props.get("email") == e:
                    return r
            return None
        self.non_unique(tab, id_property)

    def non_unique(self, tab, id_property):
        p = tab.t.props.get(id_property)
        if p is None:
            self.fail(400, "Property values were not valid: " + self.prop_errors_json(
                [self.prop_error(id_property, "PROPERTY_DOESNT_EXIST",
                                 'Property "%s" does not exist' % id_property)]), "VALIDATION_ERROR")
        self.fail(400, "Unable to perform update/upsert by non-unique %s property" % tab.t.type_id,
                  "VALIDATION_ERROR")

    # ============================================================ list / get
    def list_objects(self, req, t):
        tab = self.table(t)
        # limit above 100 is clamped to 100 (unverified: the real API may answer 400 instead).
        limit = self.int_arg(req, "limit", LIST_DEFAULT, 1, LIST_MAX)
        start = self.cursor_int(req.arg("after"), 0)
        archived = req.flag("archived")
        view = self.request_view(tab, req)
        order, recs = tab.order, tab.recs
        i, n = bisect.bisect_left(order, start), len(order)
        parts, next_num = [], None
        while i < n:
            rec = recs[order[i]]
            if (rec.archived_ms is not None) == archived:
                if len(parts) == limit:
                    next_num = rec.num
                    break
                parts.append(rec.cbytes if rec.ckey is view else self.encode(tab, rec, view))
            i += 1
        tail = b"]}"
        if next_num is not None:
            after = cursor(next_num)
            link = "%s/crm/v3/objects/%s?limit=%d&after=%s" % (PROD, tab.t.name, limit, after)
            tail = b'],"paging":{"next":{"after":"' + after.encode() + b'","link":"' + link.encode() + b'"}}}'
        return core.Response(200, b'{"results":[' + b",".join(parts) + tail,
                             [("Content-Type", core.JSON_TYPE)])

    def get_object(self, req, t, ident):
        tab = self.table(t)
        rec = self.find(tab, ident, req.arg("idProperty"), req.flag("archived"))
        if rec is None:
            self.fail(404, "resource not found")
        return json_response(200, self.encode(tab, rec, self.request_view(tab, req)))

    # =============================================================== writes
    @staticmethod
    def prop_error(name, code, message):
        return {"isValid": False, "message": message, "error": code, "name": name}

    @staticmethod
    def prop_errors_json(errors):
        return json.dumps(errors, ensure_ascii=False, separators=(",", ":"))

    def clean(self, tab, props, current=None):
        """Validate and normalise a properties input. Returns {name: str or None(clear)}."""
        if props is None:
            props = {}
        if not isinstance(props, dict):
            raise InputError(400, "VALIDATION_ERROR", "Invalid input: properties must be an object")
        out, errors = {}, []
        pipeline = current.get("pipeline") if current else None
        for name, value in props.items():
            p = tab.t.props.get(name)
            if p is None:
                errors.append(self.prop_error(name, "PROPERTY_DOESNT_EXIST", 'Property "%s" does not exist' % name))
                continue
            if p.read_only or p.calculated:
                # Message wording unverified; the READ_ONLY_VALUE code follows the same list format.
                errors.append(self.prop_error(name, "READ_ONLY_VALUE",
                                              '"%s" is a read only property; its value cannot be set.' % name))
                continue
            if value is None or value == "":
                out[name] = None
                continue
            if isinstance(value, bool):
                v = "true" if value else "false"
            elif isinstance(value, float) and value.is_integer():
                v = str(int(value))
            elif isinstance(value, (int, float)):
                v = repr(value)
            elif isinstance(value, str):
                v = value
            else:
                v = json.dumps(value)
            bad = self.check_value(tab, p, v, props.get("pipeline") or pipeline)
            if isinstance(bad, dict):
                errors.append(bad)
                continue
            out[name] = bad if bad is not None else v
        if errors:
            raise InputError(400, "VALIDATION_ERROR", "Property values were not valid: " + self.prop_errors_json(errors))
        return out

    def check_value(self, tab, p, v, pipeline):
        """Returns an error dict, a normalised value, or None (value is fine as given)."""
        name = p.name
        if name == "email" and tab.t.name == "contacts":
            if not EMAIL_RX.match(v.strip()):
                return self.prop_error(name, "INVALID_EMAIL", "Email address %s is invalid" % v)
            return v.strip().lower()
        if name == "hubspot_owner_id":
            if not any(o["id"] == v for o in self.owners):
                # Code unverified: HubSpot rejects owners that do not exist.
                return self.prop_error(name, "INVALID_OWNER_ID", "%s is not a valid owner id" % v)
            return None
        if name == "associatedcompanyid":
            if not v.isdigit() or self.tables["companies"].get(int(v)) is None:
                return self.prop_error(name, "INVALID_INTEGER", "%s is not a valid company id" % v)  # unverified
            return None
        if p.type == "number":
            if not NUMBER_RX.match(v.strip()):
                return self.prop_error(name, "INVALID_INTEGER", "%s is not a valid number" % v)  # unverified code
            return v.strip()
        if p.type in ("datetime", "date"):
            ms = parse_time(v)
            if ms is None:
                return self.prop_error(name, "INVALID_DATE", "%s is not a valid date" % v)  # unverified code
            return iso_ms(ms if p.type == "datetime" else ms // 86400000 * 86400000)
        if p.type == "bool":
            if v.lower() not in ("true", "false"):
                return self.prop_error(name, "INVALID_OPTION", "%s was not one of the allowed options: [true, false]" % v)
            return v.lower()
        if p.type == "enumeration" and p.options:
            allowed = p.option_values
            if name == "dealstage":
                pipe = next((x for x in DEAL_PIPELINES if x["id"] == (pipeline or "default")), DEAL_PIPELINES[0])
                allowed = [s[0] for s in pipe["stages"]]
            values = v.split(";") if p.field == "checkbox" else [v]
            for one in values:
                if one not in allowed:
                    return self.prop_error(name, "INVALID_OPTION", "%s was not one of the allowed options: [%s]"
                                           % (one, ", ".join(sorted(allowed) if name != "dealstage" else allowed)))
        return None

    def parse_assoc_inputs(self, tab, assocs):
        """create input `associations` -> [(to_type, to_num, {type ids})]."""
        out = []
        for a in assocs or []:
            try:
                to_id = str(a["to"]["id"])
                types = {int(x["associationTypeId"]) for x in a["types"]}
            except (KeyError, TypeError, ValueError):
                raise InputError(400, "VALIDATION_ERROR", "Invalid association input: %s" % json.dumps(a))
            to_types = {ASSOC_TYPES[x].to for x in types if x in ASSOC_TYPES and ASSOC_TYPES[x].frm == tab.t.name}
            if len(to_types) != 1 or len(to_types) != len({ASSOC_TYPES.get(x) and ASSOC_TYPES[x].to for x in types}):
                raise InputError(400, "VALIDATION_ERROR", "Invalid association type(s) %s from %s"
                                 % (sorted(types), tab.t.singular))  # wording unverified
            to = to_types.pop()
            target = self.tables[to].get(int(to_id)) if to_id.isdigit() else None
            if target is None:
                raise InputError(400, "VALIDATION_ERROR", "%s %s does not exist; cannot create association"
                                 % (OBJECTS[to].singular, to_id))  # wording unverified
            out.append((to, target.num, types))
        return out

    def prepare_create(self, tab, inp, batch_emails=None):
        if not isinstance(inp, dict):
            raise InputError(400, "VALIDATION_ERROR", "Invalid input: expected an object")
        props = self.clean(tab, inp.get("properties"))
        assocs = self.parse_assoc_inputs(tab, inp.get("associations"))
        name = tab.t.name
        if name == "contacts":
            if not any(props.get(k) for k in ("email", "firstname", "lastname")):
                # hubspot.md §2.2: a contact needs email, firstname or lastname (wording unverified).
                raise InputError(400, "VALIDATION_ERROR", "A contact needs at least one of email, firstname, lastname")
            email = props.get("email")
            if email:
                existing = tab.email.get(email)
                if existing is not None:
                    raise InputError(409, "CONFLICT", "Contact already exists. Existing ID: %d" % existing)
                if batch_emails is not None:
                    if email in batch_emails:
                        # Unverified: two new contacts with one email in a single all-or-nothing batch.
                        raise InputError(400, "VALIDATION_ERROR", "Duplicate IDs found in batch input: [%s]" % email)
                    batch_emails.add(email)
        if name == "leads":
            if not props.get("hs_lead_name"):
                raise InputError(400, "VALIDATION_ERROR", "Property values were not valid: " + self.prop_errors_json(
                    [self.prop_error("hs_lead_name", "REQUIRED_PROPERTY", "hs_lead_name is required")]))
            if not any(to == "contacts" for to, _, _ in assocs):
                # hubspot.md §2.2 (leads guide): a lead needs an existing contact. Wording unverified.
                raise InputError(400, "VALIDATION_ERROR",
                                 "A lead must be created with an association to an existing contact "
                                 "(associationTypeId 578).")
        if name == "deals":
            pipe = props.get("pipeline") or "default"
            stage = props.get("dealstage")
            if stage is None:   # unverified: HubSpot defaults a missing stage to the pipeline's first
                props["dealstage"] = next(p for p in DEAL_PIPELINES if p["id"] == pipe)["stages"][0][0]
            props["pipeline"] = pipe
        return props, assocs

    def commit_create(self, tab, props, assocs):
        now = self.clock.now_ms()
        num = tab.next_num
        tab.next_num += 1
        values = {k: v for k, v in props.items() if v is not None}
        if tab.t.name == "deals":
            values["hs_is_closed_won"] = "true" if values.get("dealstage") in STAGE_WON else "false"
        stamp(tab.t, num, values, now, now)
        company = values.pop("associatedcompanyid", None) if tab.t.name == "contacts" else None
        tab.insert(Record(num, values, now, now))
        for to, to_num, types in assocs:
            self.link(tab.t.name, num, to, to_num, types, now)
        if company:
            self.link("contacts", num, "companies", int(company), {1}, now)
        return tab.recs[num]

    def prepare_update(self, tab, rec, props):
        cleaned = self.clean(tab, props, current=rec.props)
        if tab.t.name == "contacts" and cleaned.get("email"):
            other = tab.email.get(cleaned["email"])
            if other is not None and other != rec.num:
                raise InputError(409, "CONFLICT", "Contact already exists. Existing ID: %d" % other)
        if tab.t.name == "deals" and "pipeline" in cleaned and "dealstage" not in cleaned:
            stage = rec.props.get("dealstage")
            if STAGE_PIPELINE.get(stage) != (cleaned["pipeline"] or "default"):
                raise InputError(400, "VALIDATION_ERROR", "Property values were not valid: " + self.prop_errors_json(
                    [self.prop_error("dealstage", "INVALID_OPTION",
                                     "%s was not one of the allowed options for pipeline %s" % (stage, cleaned["pipeline"]))]))
        return cleaned

    def commit_update(self, tab, rec, cleaned):
        # Every accepted write bumps updatedAt and the last-modified property,
        # even when no value changes (as HubSpot does).
        now = max(self.clock.now_ms(), rec.updated_ms)
        props = dict(rec.props)
        company = _KEEP
        for k, v in cleaned.items():
            if k == "associatedcompanyid":
                company = v
                continue
            if v is None:
                props.pop(k, None)
            else:
                props[k] = v
        if tab.t.name == "deals":
            props["hs_is_closed_won"] = "true" if props.get("dealstage") in STAGE_WON else "false"
        props[tab.t.modified] = iso_ms(now)
        tab.put(rec.evolve(props=props, updated_ms=now))
        if company is not _KEEP:
            current = [n for n, tid in rec.assoc.get("companies", ()) if tid == 1]
            if company is None:
                for n in current:
                    self.unlink("contacts", rec.num, "companies", n, {1}, now)
            else:
                self.link("contacts", rec.num, "companies", int(company), {1}, now)
        return tab.recs[rec.num]

    def commit_archive(self, tab, rec):
        now = max(self.clock.now_ms(), rec.updated_ms)
        props = dict(rec.props)
        props[tab.t.modified] = iso_ms(now)
        tab.put(rec.evolve(props=props, updated_ms=now, archived_ms=now))
        # The archived record keeps its associations; its neighbours stop seeing it.
        for to, pairs in rec.assoc.items():
            for n in {n for n, _ in pairs}:
                self.drop_side(to, n, tab.t.name, rec.num, None, now)

    def input_error_response(self, e):
        return self.err(e.status, e.message, e.category, **e.extra)

    # ------------------------------------------------------------- single
    def create_object(self, req, t):
        tab = self.table(t)
        try:
            props, assocs = self.prepare_create(tab, self.body(req))
        except InputError as e:
            return self.input_error_response(e)
        rec = self.commit_create(tab, props, assocs)
        return json_response(201, self.record_dict(tab, rec, None))

    def update_object(self, req, t, ident):
        tab = self.table(t)
        body = self.body(req)
        rec = self.find(tab, ident, req.arg("idProperty"))
        if rec is None:
            self.fail(404, "resource not found")
        try:
            cleaned = self.prepare_update(tab, rec, (body or {}).get("properties") if isinstance(body, dict) else None)
        except InputError as e:
            return self.input_error_response(e)
        return json_response(200, self.record_dict(tab, self.commit_update(tab, rec, cleaned), None))

    def archive_object(self, req, t, ident):
        tab = self.table(t)
        rec = self.find(tab, ident)
        if rec is not None:
            self.commit_archive(tab, rec)
        return empty_response(204)   # archiving a missing id also answers 204

    # -------------------------------------------------------------- batch
    def batch_inputs(self, req, max_inputs=BATCH_MAX):
        body = self.body(req)
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            self.fail(400, "Invalid input JSON: field \"inputs\" is required and must be an array",
                      "VALIDATION_ERROR")
        if len(inputs) > max_inputs:
            # Wording unverified; the cap of 100 is documented.
            self.fail(400, "Batch input size %d exceeds the maximum of %d inputs" % (len(inputs), max_inputs),
                      "VALIDATION_ERROR")
        return body, inputs

    def batch_reply(self, ok_status, results, errors, started):
        out = {"status": "COMPLETE", "results": results, "startedAt": iso_ms(started),
               "completedAt": self.clock.now_iso()}
        if errors:
            out["numErrors"] = len(errors)
            out["errors"] = errors
            return json_response(207, out)
        return json_response(ok_status, out)

    @staticmethod
    def batch_error(category, message, context):
        return {"status": "error", "category": category, "message": message, "context": context,
                "errors": [], "links": {}}

    @staticmethod
    def trace_mode(inputs):
        """Per-input errors (207) only when every input has a unique objectWriteTraceId (hubspot.md §2.3)."""
        ids = [i.get("objectWriteTraceId") if isinstance(i, dict) else None for i in inputs]
        return all(ids) and len(set(ids)) == len(ids)

    def batch_read(self, req, t):
        tab = self.table(t)
        body, inputs = self.batch_inputs(req)
        history = body.get("propertiesWithHistory") or []
        if history and len(inputs) > BATCH_HISTORY_MAX:
            self.fail(400, "The maximum number of inputs supported in a batch request for property histories "
                      "is %d." % BATCH_HISTORY_MAX, "VALIDATION_ERROR")
        started = self.clock.now_ms()
        id_prop = body.get("idProperty")
        archived = req.flag("archived")
        view = self.view(tab, body.get("properties") or tab.t.defaults, (), history)
        results, missing, seen = [], [], set()
        for inp in inputs:
            ident = str((inp or {}).get("id", "")) if isinstance(inp, dict) else ""
            rec = self.find(tab, ident, id_prop, archived) if ident else None
            if rec is None:
                missing.append(ident)
            elif rec.num not in seen:
                seen.add(rec.num)
                results.append(json.loads(self.encode(tab, rec, view)))
        errors = []
        if missing:
            errors.append(self.batch_error(
                "OBJECT_NOT_FOUND", "Could not get some %s objects, they may be deleted or not exist. "
                "Check that ids are valid." % tab.t.singular, {"ids": missing}))
        return self.batch_reply(200, results, errors, started)

    def batch_create(self, req, t):
        tab = self.table(t)
        _, inputs = self.batch_inputs(req)
        started = self.clock.now_ms()
        if not self.trace_mode(inputs):
            # All or nothing: one bad input fails the call, nothing is written.
            prepared, emails = [], set()
            for inp in inputs:
                try:
                    prepared.append(self.prepare_create(tab, inp, emails))
                except InputError as e:
                    return self.input_error_response(e)
            results = [self.record_dict(tab, self.commit_create(tab, p, a), None) for p, a in prepared]
            return self.batch_reply(201, results, [], started)
        results, errors = [], []
        for inp in inputs:
            trace = inp["objectWriteTraceId"]
            try:
                props, assocs = self.prepare_create(tab, inp)
            except InputError as e:
                errors.append(self.batch_error(e.category, e.message, {"objectWriteTraceId": [trace]}))
                continue
            d = self.record_dict(tab, self.commit_create(tab, props, assocs), None)
            d["objectWriteTraceId"] = trace
            results.append(d)
        return self.batch_reply(201, results, errors, started)

    def batch_update(self, req, t):
        tab = self.table(t)
        body, inputs = self.batch_inputs(req)
        started = self.clock.now_ms()
        for inp in inputs:
            id_prop = (inp.get("idProperty") if isinstance(inp, dict) else None) or body.get("idProperty")
            if id_prop not in (None, "", "hs_object_id"):
                # hubspot.md §2.3: batch/update refuses idProperty=email (hubspot-api-nodejs #548).
                self.fail(400, "Unable to perform update/upsert by non-unique %s property" % tab.t.type_id,
                          "VALIDATION_ERROR")
        ids = [str(i.get("id")) for i in inputs if isinstance(i, dict)]
        dups = sorted({i for i in ids if ids.count(i) > 1})
        if dups:
            self.fail(400, "Duplicate IDs found in batch input: [%s]" % ", ".join(dups), "VALIDATION_ERROR")
        return self.apply_updates(tab, inputs, started, upsert=False)

    def batch_upsert(self, req, t):
        tab = self.table(t)
        body, inputs = self.batch_inputs(req)
        started = self.clock.now_ms()
        keys = []
        for inp in inputs:
            if not isinstance(inp, dict) or inp.get("id") in (None, ""):
                self.fail(400, "Invalid input: every upsert input needs an id", "VALIDATION_ERROR")
            id_prop = inp.get("idProperty") or body.get("idProperty")
            if id_prop not in (None, "", "hs_object_id") and not (id_prop == "email" and tab.t.name == "contacts"):
                self.non_unique(tab, id_prop)
            keys.append(str(inp["id"]).lower())
        dups = sorted({k for k in keys if keys.count(k) > 1})
        if dups:
            self.fail(400, "Duplicate IDs found in batch input: [%s]" % ", ".join(dups), "VALIDATION_ERROR")
        return self.apply_updates(tab, inputs, started, upsert=True, default_id_prop=body.get("idProperty"))

    def apply_updates(self, tab, inputs, started, upsert, default_id_prop=None):
        """Shared by batch/update and batch/upsert."""
        trace = self.trace_mode(inputs)
        plan, missing, errors = [], [], []
        for inp in inputs:
            id_prop = inp.get("idProperty") or default_id_prop
            rec = self.find(tab, inp.get("id", ""), id_prop)
            try:
                if rec is None:
                    if not upsert or id_prop != "email":
                        missing.append(str(inp.get("id")))
                        continue
                    props = dict(inp.get("properties") or {})
                    props.setdefault("email", str(inp["id"]))
                    plan.append((inp, None, self.prepare_create(tab, {"properties": props,
                                                                      "associations": inp.get("associations")})))
                else:
                    plan.append((inp, rec, self.prepare_update(tab, rec, inp.get("properties"))))
            except InputError as e:
                if not trace:
                    return self.input_error_response(e)
                errors.append(self.batch_error(e.category, e.message,
                                               {"objectWriteTraceId": [inp["objectWriteTraceId"]]}))
        results = []
        for inp, rec, prepared in plan:
            if rec is None:
                new = self.commit_create(tab, *prepared)
            else:
                new = self.commit_update(tab, rec, prepared)
            d = self.record_dict(tab, new, None)
            if upsert:
                d["new"] = rec is None
            if inp.get("objectWriteTraceId"):
                d["objectWriteTraceId"] = inp["objectWriteTraceId"]
            results.append(d)
        if missing:
            errors.append(self.batch_error(
                "OBJECT_NOT_FOUND", "Could not update some %s objects, they may be deleted or not exist. "
                "Check that ids are valid." % tab.t.singular, {"ids": missing}))  # wording unverified
        return self.batch_reply(200, results, errors, started)

    def batch_archive(self, req, t):
        tab = self.table(t)
        _, inputs = self.batch_inputs(req)
        for inp in inputs:
            rec = self.find(tab, (inp or {}).get("id", "")) if isinstance(inp, dict) else None
            if rec is not None:
                self.commit_archive(tab, rec)
        return empty_response(204)

    # ================================================================ search
    def search(self, req, t):
        tab = self.table(t)
        body = self.body(req) or {}
        if not isinstance(body, dict):
            self.fail(400, "Invalid input JSON: expected an object", "VALIDATION_ERROR")
        try:
            limit = int(body.get("limit") if body.get("limit") not in (None, "") else SEARCH_DEFAULT)
            offset = int(body.get("after") or 0)
        except (TypeError, ValueError):
            self.fail(400, "Invalid limit or after", "VALIDATION_ERROR")
        if limit < 0 or limit > SEARCH_MAX:
            # wording unverified
            self.fail(400, "limit must be between 0 and %d, got %d" % (SEARCH_MAX, limit), "VALIDATION_ERROR")
        if offset >= SEARCH_RESULT_CAP:
            # Hard cap of 10,000 results per query (hubspot.md §2.4); body wording unverified.
            self.fail(400, "Search is limited to %d results per query; 'after' was %d. Narrow the filters "
                      "and start again." % (SEARCH_RESULT_CAP, offset), "VALIDATION_ERROR")
        groups = body.get("filterGroups") or []
        if len(groups) > SEARCH_MAX_GROUPS or any(len(g.get("filters") or []) > SEARCH_MAX_FILTERS_PER_GROUP
                                                  for g in groups) \
                or sum(len(g.get("filters") or []) for g in groups) > SEARCH_MAX_FILTERS:
            self.fail(400, "Too many filters: at most %d filterGroups of %d filters, %d in total"
                      % (SEARCH_MAX_GROUPS, SEARCH_MAX_FILTERS_PER_GROUP, SEARCH_MAX_FILTERS), "VALIDATION_ERROR")
        preds = [[self.compile_filter(tab, f) for f in (g.get("filters") or [])] for g in groups]
        text = (body.get("query") or "").strip().lower()
        recs = tab.recs
        matched = []
        for num in tab.order:
            rec = recs[num]
            if rec.archived_ms is not None:
                continue
            if preds and not any(all(p(rec) for p in group) for group in preds):
                continue
            if text and not any(text in (rec.props.get(f) or "").lower() for f in tab.t.text_fields):
                continue
            matched.append(rec)
        sorts = body.get("sorts") or []
        if sorts:
            s = sorts[0]
            if isinstance(s, str):
                name, desc = s.lstrip("-"), s.startswith("-")
            else:
                name, desc = s.get("propertyName"), str(s.get("direction", "ASCENDING")).upper() == "DESCENDING"
            key = self.typed_getter(tab, name)
            have = [r for r in matched if key(r) is not None]
            have.sort(key=key, reverse=desc)   # stable: ties stay in id order
            matched = have + [r for r in matched if key(r) is None]
        view = self.view(tab, body.get("properties") or tab.t.defaults)
        page = matched[offset:min(offset + limit, SEARCH_RESULT_CAP)]   # nothing past the 10,000th
        parts = [self.encode(tab, r, view) for r in page]
        total = len(matched)
        tail = b"]}"
        if offset + len(page) < total and limit > 0:
            tail = b'],"paging":{"next":{"after":"%d"}}}' % (offset + len(page))
        return core.Response(200, b'{"total":%d,"results":[' % total + b",".join(parts) + tail,
                             [("Content-Type", core.JSON_TYPE)])

    def typed_getter(self, tab, name):
        """rec -> comparable value (number for number/datetime properties, lowercase string else) or None."""
        if name in ("lastmodifieddate", "hs_lastmodifieddate") and name == tab.t.modified:
            return lambda r: r.updated_ms
        if name == "createdate":
            return lambda r: r.created_ms
        if name in ("hs_object_id", "id"):
            return lambda r: r.num
        p = tab.t.props.get(name)
        if p is None:
            self.fail(400, "Property values were not valid: " + self.prop_errors_json(
                [self.prop_error(name, "PROPERTY_DOESNT_EXIST", 'Property "%s" does not exist' % name)]),
                "VALIDATION_ERROR")
        if p.type in ("datetime", "date"):
            return lambda r: parse_time(r.props.get(name)) if r.props.get(name) else None
        if p.type == "number":
            return lambda r: _num(r.props.get(name))
        return lambda r: (r.props.get(name) or "").lower() or None

    def compile_filter(self, tab, f):
        """A search filter -> predicate(rec)."""
        name, op = f.get("propertyName"), str(f.get("operator", "EQ")).upper()
        if op not in SEARCH_OPERATORS:
            self.fail(400, "Invalid operator: %s" % op, "VALIDATION_ERROR")
        if name and name.startswith("associations."):
            to = OBJECT_ALIASES.get(name.split(".", 1)[1], name.split(".", 1)[1])
            want = {str(v) for v in (f.get("values") or [f.get("value")])}
            has = lambda r: any(str(n) in want for n, _ in r.assoc.get(to, ()))   # noqa: E731
            return (lambda r: not has(r)) if op in ("NEQ", "NOT_IN") else has
        get = self.typed_getter(tab, name)
        p = tab.t.props.get(name)
        kind = "number" if (p is None or p.type in ("number", "datetime", "date")) else "string"

        def conv(v):
            if v is None:
                return None
            if kind == "string":
                return str(v).lower()
            if p is not None and p.type in ("datetime", "date") or name in ("createdate", tab.t.modified):
                ms = parse_time(v)
                if ms is None:
                    self.fail(400, "Invalid value %r for %s" % (v, name), "VALIDATION_ERROR")
                return ms
            n = _num(v)
            if n is None:
                self.fail(400, "Invalid value %r for %s" % (v, name), "VALIDATION_ERROR")
            return n

        if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
            want = op == "HAS_PROPERTY"
            return lambda r: (get(r) is not None) == want
        if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            pat = str(f.get("value", "")).lower()
            neg = op == "NOT_CONTAINS_TOKEN"
            rx = re.compile("^" + ".*".join(re.escape(x) for x in pat.split("*")) + "$")

            def contains(r):
                v = (r.props.get(name) or "").lower()
                return bool(v) and (bool(rx.match(v)) or any(rx.match(tok) for tok in re.split(r"[\s@.,;:_\-/]+", v)))
            return (lambda r: not contains(r)) if neg else contains
        if op in ("IN", "NOT_IN"):
            vals = {conv(v) for v in (f.get("values") or [])}
            if op == "IN":
                return lambda r: get(r) in vals
            return lambda r: get(r) not in vals
        value = conv(f.get("value"))
        if op == "BETWEEN":
            high = conv(f.get("highValue"))
            return lambda r: (lambda v: v is not None and value <= v <= high)(get(r))
        if op == "EQ":
            return lambda r: get(r) == value
        if op == "NEQ":
            return lambda r: get(r) != value
        cmp = {"LT": lambda a, b: a < b, "LTE": lambda a, b: a <= b,
               "GT": lambda a, b: a > b, "GTE": lambda a, b: a >= b}[op]
        return lambda r: (lambda v: v is not None and cmp(v, value))(get(r))

    # ========================================================= associations
    def link(self, frm, fnum, to, tnum, types, now):
        """Associate both ways. Labelled types bring the unlabeled default along."""
        types = set(types)
        if any(ASSOC_TYPES[x].label for x in types):
            types.add(DEFAULT_ASSOC[(frm, to)])
        # A "primary" type is unique per from-record: demote the old one.
        for x in types:
            if ASSOC_TYPES[x].unique:
                for n, tid in self.tables[frm].recs[fnum].assoc.get(to, ()):
                    if tid == x and n != tnum:
                        self.unlink(frm, fnum, to, n, {x}, now)
        self.set_side(frm, fnum, to, tnum, add=types)
        self.set_side(to, tnum, frm, fnum, add={ASSOC_TYPES[x].reverse for x in types})
        self.sync_primary_company(frm, fnum, to, tnum, now)

    def unlink(self, frm, fnum, to, tnum, types, now):
        """Remove some (or, with types None, all) association types both ways."""
        rev = None if types is None else {ASSOC_TYPES[x].reverse for x in types}
        self.set_side(frm, fnum, to, tnum, remove=types)
        self.set_side(to, tnum, frm, fnum, remove=rev)
        self.sync_primary_company(frm, fnum, to, tnum, now)

    def drop_side(self, frm, fnum, to, tnum, types, now):
        self.set_side(frm, fnum, to, tnum, remove=types)
        self.sync_primary_company(frm, fnum, to, tnum, now)

    def set_side(self, frm, fnum, to, tnum, add=(), remove=()):
        tab = self.tables[frm]
        rec = tab.recs.get(fnum)
        if rec is None:
            return
        pairs = set(rec.assoc.get(to, ()))
        before = set(pairs)
        if remove is None:
            pairs = {p for p in pairs if p[0] != tnum}
        else:
            pairs -= {(tnum, x) for x in remove}
        pairs |= {(tnum, x) for x in add}
        if pairs != before:
            assoc = dict(rec.assoc)
            if pairs:
                assoc[to] = tuple(sorted(pairs))
            else:
                assoc.pop(to, None)
            tab.put(rec.evolve(assoc=assoc))

    def sync_primary_company(self, frm, fnum, to, tnum, now):
        """Keep contacts.associatedcompanyid equal to the primary (type 1) company."""
        if {frm, to} != {"contacts", "companies"}:
            return
        cnum = fnum if frm == "contacts" else tnum
        tab = self.tables["contacts"]
        rec = tab.recs.get(cnum)
        if rec is None:
            return
        primary = next((str(n) for n, tid in rec.assoc.get("companies", ()) if tid == 1
                        and self.tables["companies"].get(n) is not None), None)
        if rec.props.get("associatedcompanyid") != primary:
            props = dict(rec.props)
            if primary:
                props["associatedcompanyid"] = primary
            else:
                props.pop("associatedcompanyid", None)
            when = max(now, rec.updated_ms)
            props[tab.t.modified] = iso_ms(when)
            tab.put(rec.evolve(props=props, updated_ms=when))

    def v4_pair(self, frm, to):
        f, t = self.table(frm), self.table(to)
        if (f.t.name, t.t.name) not in DEFAULT_ASSOC:
            self.fail(400, "No association types exist between %s and %s" % (f.t.singular, t.t.singular),
                      "VALIDATION_ERROR")
        return f, t

    def v4_records(self, f, fid, t, tid):
        a = f.get(int(fid)) if str(fid).isdigit() else None
        b = t.get(int(tid)) if str(tid).isdigit() else None
        if a is None or b is None:
            self.fail(404, "resource not found", "OBJECT_NOT_FOUND")   # wording unverified
        return a, b

    @staticmethod
    def spec(type_id):
        return {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}

    def default_results(self, f, a, t, b):
        d = DEFAULT_ASSOC[(f.t.name, t.t.name)]
        return [{"from": {"id": a.id}, "to": {"id": b.id}, "associationSpec": self.spec(d)},
                {"from": {"id": b.id}, "to": {"id": a.id}, "associationSpec": self.spec(ASSOC_TYPES[d].reverse)}]

    def v4_put_default(self, req, frm, fid, to, tid):
        started = self.clock.now_ms()
        f, t = self.v4_pair(frm, to)
        a, b = self.v4_records(f, fid, t, tid)
        self.link(f.t.name, a.num, t.t.name, b.num, {DEFAULT_ASSOC[(f.t.name, t.t.name)]}, started)
        return self.batch_reply(200, self.default_results(f, a, t, b), [], started)

    def type_ids_from(self, f, t, specs):
        if not isinstance(specs, list):
            self.fail(400, "Invalid input JSON: expected an array of association types", "VALIDATION_ERROR")
        out = set()
        for s in specs:
            try:
                x = int(s.get("associationTypeId"))
            except (AttributeError, TypeError, ValueError):
                self.fail(400, "Invalid association type: %s" % json.dumps(s), "VALIDATION_ERROR")
            at = ASSOC_TYPES.get(x)
            if at is None or (at.frm, at.to) != (f.t.name, t.t.name):
                self.fail(400, "associationTypeId %d is not valid from %s to %s" % (x, f.t.singular, t.t.singular),
                          "VALIDATION_ERROR")
            out.add(x)
        return out

    def labels_of(self, rec, to, tnum):
        return [ASSOC_TYPES[tid].label for n, tid in rec.assoc.get(to, ()) if n == tnum and ASSOC_TYPES[tid].label]

    def v4_put_labelled(self, req, frm, fid, to, tid):
        f, t = self.v4_pair(frm, to)
        types = self.type_ids_from(f, t, self.body(req))
        a, b = self.v4_records(f, fid, t, tid)
        self.link(f.t.name, a.num, t.t.name, b.num, types, self.clock.now_ms())
        a = f.recs[a.num]
        return json_response(201, {"fromObjectTypeId": f.t.type_id, "fromObjectId": a.id,
                                   "toObjectTypeId": t.t.type_id, "toObjectId": b.id,
                                   "labels": self.labels_of(a, t.t.name, b.num)})

    def v4_delete(self, req, frm, fid, to, tid):
        f, t = self.v4_pair(frm, to)
        if str(fid).isdigit() and str(tid).isdigit():
            self.unlink(f.t.name, int(fid), t.t.name, int(tid), None, self.clock.now_ms())
        return empty_response(204)

    def assoc_rows(self, rec, to):
        by = {}
        for n, tid in rec.assoc.get(to, ()):
            if self.tables[to].get(n) is None:
                continue
            by.setdefault(n, []).append({"category": "HUBSPOT_DEFINED", "typeId": tid,
                                         "label": ASSOC_TYPES[tid].label})
        return [{"toObjectId": str(n), "associationTypes": ts} for n, ts in sorted(by.items())]

    def v4_get_page(self, req, frm, fid, to):
        f, t = self.v4_pair(frm, to)
        a = f.get(int(fid)) if fid.isdigit() else None
        rows = self.assoc_rows(a, t.t.name) if a else []
        limit = self.int_arg(req, "limit", ASSOC_PAGE_MAX, 1, ASSOC_PAGE_MAX)
        start = self.cursor_int(req.arg("after"), 0)
        out = {"results": rows[start:start + limit]}
        if start + limit < len(rows):
            out["paging"] = {"next": {"after": cursor(start + limit)}}
        return self.ok(200, out)

    def v4_inputs(self, req, max_inputs=BATCH_MAX * 10):
        body = self.body(req)
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            self.fail(400, "Invalid input JSON: field \"inputs\" is required and must be an array", "VALIDATION_ERROR")
        if len(inputs) > max_inputs:
            self.fail(400, "Batch input size %d exceeds the maximum of %d inputs" % (len(inputs), max_inputs),
                      "VALIDATION_ERROR")
        return inputs

    def v4_batch_default(self, req, frm, to):
        started = self.clock.now_ms()
        f, t = self.v4_pair(frm, to)
        pairs = []
        for inp in self.v4_inputs(req):
            try:
                pairs.append(self.v4_records(f, inp["from"]["id"], t, inp["to"]["id"]))
            except (KeyError, TypeError):
                self.fail(400, "Invalid input: %s" % json.dumps(inp), "VALIDATION_ERROR")
        results = []
        for a, b in pairs:
            self.link(f.t.name, a.num, t.t.name, b.num, {DEFAULT_ASSOC[(f.t.name, t.t.name)]}, started)
            results.extend(self.default_results(f, a, t, b))
        return self.batch_reply(200, results, [], started)

    def v4_batch_create(self, req, frm, to):
        started = self.clock.now_ms()
        f, t = self.v4_pair(frm, to)
        results, errors = [], []
        for inp in self.v4_inputs(req):
            try:
                types = self.type_ids_from(f, t, inp.get("types"))
                a, b = self.v4_records(f, inp["from"]["id"], t, inp["to"]["id"])
            except (KeyError, TypeError, AttributeError, HttpError):
                errors.append(self.batch_error("VALIDATION_ERROR", "Invalid association input",
                                               {"input": [json.dumps(inp)]}))
                continue
            self.link(f.t.name, a.num, t.t.name, b.num, types, started)
            a = f.recs[a.num]
            results.append({"fromObjectTypeId": f.t.type_id, "fromObjectId": a.id, "toObjectTypeId": t.t.type_id,
                            "toObjectId": b.id, "labels": self.labels_of(a, t.t.name, b.num)})
        return self.batch_reply(201, results, errors, started)

    def v4_batch_read(self, req, frm, to):
        started = self.clock.now_ms()
        f, t = self.v4_pair(frm, to)
        results, errors = [], []
        for inp in self.v4_inputs(req, V4_BATCH_READ_MAX):
            fid = str((inp or {}).get("id", "")) if isinstance(inp, dict) else ""
            a = f.get(int(fid)) if fid.isdigit() else None
            rows = self.assoc_rows(a, t.t.name) if a else []
            if not rows:
                # Unverified: ids without associations are reported as errors, not empty results.
                errors.append(self.batch_error("NO_ASSOCIATIONS_FOUND", "No %s is associated with %s %s."
                                               % (t.t.singular.lower(), f.t.singular.lower(), fid),
                                               {"fromObjectId": [fid]}))
                continue
            start = self.cursor_int(inp.get("after"), 0)
            item = {"from": {"id": fid}, "to": rows[start:start + ASSOC_PAGE_MAX]}
            if start + ASSOC_PAGE_MAX < len(rows):
                item["paging"] = {"next": {"after": cursor(start + ASSOC_PAGE_MAX)}}
            results.append(item)
        return self.batch_reply(200, results, errors, started)

    def v4_batch_archive(self, req, frm, to):
        f, t = self.v4_pair(frm, to)
        now = self.clock.now_ms()
        for inp in self.v4_inputs(req):
            try:
                fid = str(inp["from"]["id"])
                tos = [str(x["id"]) for x in inp.get("to") or []]
            except (KeyError, TypeError):
                self.fail(400, "Invalid input: %s" % json.dumps(inp), "VALIDATION_ERROR")
            for tid in tos:
                if fid.isdigit() and tid.isdigit():
                    self.unlink(f.t.name, int(fid), t.t.name, int(tid), None, now)
        return empty_response(204)

    def v4_labels(self, req, frm, to):
        f, t = self.v4_pair(frm, to)
        return self.ok(200, {"results": [{"category": "HUBSPOT_DEFINED", "typeId": a.id, "label": a.label}
                                         for a in ASSOC_TYPES.values() if (a.frm, a.to) == (f.t.name, t.t.name)]})

    # ================================================================= lists
    def list_member_nums(self, lst):
        """Current members (live records only), sorted by record id."""
        tab = self.tables["contacts" if lst["objectTypeId"] == "0-1" else "companies"]
        if lst["processingType"] == "DYNAMIC":
            if not lst["rule"]:
                return []
            prop, value = lst["rule"]
            return [n for n in tab.order if tab.recs[n].live and tab.recs[n].props.get(prop) == value]
        return sorted(n for n in lst["members"] if tab.get(n) is not None)

    def list_json(self, lst, include_members=False, search_shape=False):
        size = len(self.list_member_nums(lst))
        d = {k: lst[k] for k in ("listId", "name", "objectTypeId", "processingType", "processingStatus",
                                 "listVersion", "createdAt", "updatedAt", "createdById", "updatedById",
                                 "filtersUpdatedAt")}
        if lst["deletedAt"]:
            d["deletedAt"] = lst["deletedAt"]
        if search_shape:
            d["additionalProperties"] = {"hs_list_size": str(size), "hs_list_reference_count": "0"}
        else:
            d["size"] = size
            d["membershipSettings"] = {"includeUnassigned": False}
            d["listPermissions"] = {"teamsWithEditAccess": [], "usersWithEditAccess": []}
        if include_members:
            d["memberIds"] = [str(n) for n in self.list_member_nums(lst)]
        return d

    def get_list(self, lid, deleted=False):
        lst = self.lists.get(str(lid))
        if lst is None or (lst["deletedAt"] is not None and not deleted):
            self.fail(404, "List %s does not exist." % lid, "OBJECT_NOT_FOUND")   # wording unverified
        return lst

    def lists_search(self, req):
        body = self.body(req) or {}
        if not isinstance(body, dict):
            self.fail(400, "Invalid input JSON: expected an object", "VALIDATION_ERROR")
        # count above 500 is clamped (unverified).
        count = max(1, min(LISTS_SEARCH_MAX, int(body.get("count") or LISTS_SEARCH_DEFAULT)))
        offset = int(body.get("offset") or 0)
        query = (body.get("query") or "").lower()
        types = set(body.get("processingTypes") or [])
        ids = {str(x) for x in body.get("listIds") or []}
        otid = body.get("objectTypeId")
        rows = [l for l in sorted(self.lists.values(), key=lambda x: int(x["listId"]))
                if l["deletedAt"] is None and (not query or query in l["name"].lower())
                and (not types or l["processingType"] in types) and (not ids or l["listId"] in ids)
                and (not otid or l["objectTypeId"] == otid)]
        page = rows[offset:offset + count]
        return self.ok(200, {"lists": [self.list_json(l, search_shape=True) for l in page],
                             "hasMore": offset + len(page) < len(rows), "offset": offset + len(page),
                             "total": len(rows)})

    def lists_get_many(self, req):
        ids = req.args("listIds")
        rows = [self.lists[i] for i in ids if i in self.lists and self.lists[i]["deletedAt"] is None]
        return self.ok(200, {"lists": [self.list_json(l) for l in rows]})

    def list_get(self, req, lid):
        lst = self.get_list(lid)
        d = self.list_json(lst)
        if req.flag("includeFilters") and lst["rule"]:
            prop, value = lst["rule"]
            d["filterBranch"] = {"filterBranchType": "OR", "filterBranches": [{
                "filterBranchType": "AND", "filterBranches": [], "filters": [{
                    "filterType": "PROPERTY", "property": prop,
                    "operation": {"operationType": "ENUMERATION", "operator": "IS_ANY_OF", "values": [value]}}]}],
                "filters": []}
        return self.ok(200, {"list": d})

    def list_by_name(self, req, otid, name):
        for l in self.lists.values():
            if l["deletedAt"] is None and l["objectTypeId"] == otid and l["name"].lower() == name.lower():
                return self.ok(200, {"list": self.list_json(l)})
        self.fail(404, "List %s does not exist." % name, "OBJECT_NOT_FOUND")

    def list_create(self, req):
        body = self.body(req)
        if not isinstance(body, dict) or not body.get("name") or not body.get("objectTypeId") \
                or body.get("processingType") not in ("MANUAL", "SNAPSHOT", "DYNAMIC"):
            self.fail(400, "A list needs name, objectTypeId and processingType (MANUAL, SNAPSHOT or DYNAMIC)",
                      "VALIDATION_ERROR")
        if body["objectTypeId"] not in ("0-1", "0-2"):
            self.fail(400, "Lists of objectTypeId %s are not supported here" % body["objectTypeId"],
                      "VALIDATION_ERROR")
        lid = str(self.next_list)
        self.next_list += 1
        now = self.clock.now_iso()
        self.lists[lid] = {"listId": lid, "name": body["name"], "objectTypeId": body["objectTypeId"],
                           "processingType": body["processingType"], "processingStatus": "COMPLETE",
                           "listVersion": 1, "createdAt": now, "updatedAt": now, "createdById": "9000077",
                           "updatedById": "9000077", "filtersUpdatedAt": now, "members": {}, "rule": None,
                           "deletedAt": None}
        return self.ok(200, {"list": self.list_json(self.lists[lid])})

    def list_delete(self, req, lid):
        lst = self.get_list(lid)
        lst["deletedAt"] = self.clock.now_iso()
        return empty_response(204)

    def list_restore(self, req, lid):
        lst = self.get_list(lid, deleted=True)
        lst["deletedAt"] = None
        return empty_response(204)

    def memberships_page(self, req, lid):
        lst = self.get_list(lid)
        limit = self.int_arg(req, "limit", MEMBERSHIPS_DEFAULT, 1, MEMBERSHIPS_MAX)   # > 250 clamped (unverified)
        start = self.cursor_int(req.arg("after"), 0)
        nums = self.list_member_nums(lst)
        i = bisect.bisect_left(nums, start)
        page = nums[i:i + limit]
        ts = lst["members"]
        default_ts = T(lst["createdAt"])
        out = {"results": [{"recordId": str(n), "membershipTimestamp": iso_ms(ts.get(n, default_ts))} for n in page],
               "total": len(nums)}
        if i + limit < len(nums):
            out["paging"] = {"next": {"after": cursor(nums[i + limit])}}
        return self.ok(200, out)

    def writable_list(self, lid):
        lst = self.get_list(lid)
        if lst["processingType"] == "DYNAMIC":
            # wording unverified; DYNAMIC lists refuse manual membership writes (hubspot.md §7).
            self.fail(400, "List %s is a DYNAMIC list; memberships of DYNAMIC lists cannot be changed manually. "
                      "Only MANUAL and SNAPSHOT lists accept membership writes." % lid, "VALIDATION_ERROR")
        return lst

    def ids_body(self, req, body=None):
        body = self.body(req) if body is None else body
        if not isinstance(body, list):
            self.fail(400, "Invalid input JSON: expected an array of record ids", "VALIDATION_ERROR")
        return [str(x).strip() for x in body]

    def change_members(self, lst, add, remove):
        tab = self.tables["contacts" if lst["objectTypeId"] == "0-1" else "companies"]
        now = self.clock.now_ms()
        added, removed, missing = [], [], []
        for ident in add:
            rec = tab.get(int(ident)) if ident.isdigit() else None
            if rec is None:
                missing.append(ident)
            elif rec.num not in lst["members"]:
                lst["members"][rec.num] = now
                added.append(ident)
        for ident in remove:
            num = int(ident) if ident.isdigit() else None
            if num is None or tab.get(num) is None:
                missing.append(ident)
            elif num in lst["members"]:
                del lst["members"][num]
                removed.append(ident)
        if added or removed:
            lst["updatedAt"] = iso_ms(now)
        # The key really is "recordsIdsAdded" (sic), as in HubSpot's spec and SDKs.
        return self.ok(200, {"recordsIdsAdded": added, "recordIdsRemoved": removed, "recordIdsMissing": missing})

    def memberships_add(self, req, lid):
        return self.change_members(self.writable_list(lid), self.ids_body(req), [])

    def memberships_remove(self, req, lid):
        return self.change_members(self.writable_list(lid), [], self.ids_body(req))

    def memberships_add_remove(self, req, lid):
        body = self.body(req)
        if not isinstance(body, dict):
            self.fail(400, "Invalid input JSON: expected {recordIdsToAdd, recordIdsToRemove}", "VALIDATION_ERROR")
        lst = self.writable_list(lid)
        return self.change_members(lst, self.ids_body(req, body.get("recordIdsToAdd") or []),
                                   self.ids_body(req, body.get("recordIdsToRemove") or []))


ASSOC_PAIRS_FROM = {}
for _a in ASSOC_TYPES.values():
    ASSOC_PAIRS_FROM.setdefault(_a.frm, set()).add(_a.to)


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _num(v):
    if v is None or v == "":
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def create(options):
    return HubSpot(options)
