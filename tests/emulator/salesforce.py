"""Salesforce emulator for crmsync.

Speaks the wire protocol of ../../../shared/api/salesforce.md (section numbers
below refer to it): REST under /services/data/vNN.N/ (any version), SOQL
through query/queryAll with nextRecordsUrl cursors, describe, sObject
Collections, single-record CRUD and upsert by external id, getUpdated and
getDeleted, parent-relationship fields in SOQL (Account.Name), Bulk API 2.0 query
and ingest jobs with CSV, /limits with Sforce-Limit-Info on every answer, the
OAuth token and userinfo endpoints, and errors as the JSON array
[{"message","errorCode","fields"}].  Facts marked "unverified" are choices
where salesforce.md is silent or unsure.

Layout: facts and the schema first, then ids and values, the SOQL subset, the
record store and seeder, and the Salesforce class whose methods are the
endpoint handlers.
"""

import csv
import io
import re
import secrets
import sys
import threading
import traceback
import urllib.parse

import core
from core import (
    HttpError, BadJson, Fake, Router, DailyCounter, parse_time, json_response, empty_response,
    raw_response, ascii_slug,
)

# ====================================================================== facts

DEMO_TOKEN = "demo"                  # a session id that never expires (until expire_token)
OAUTH_CLIENT_ID = "demo-client"
OAUTH_CLIENT_SECRET = "demo-secret"
OAUTH_REFRESH_TOKEN = "demo-refresh"
DAILY_LIMIT = 100_000                # §10: Enterprise base (unverified per org)
QUERY_BATCH_DEFAULT, QUERY_BATCH_MIN = 2000, 200   # §3
COLLECTION_MAX = 200                 # §6
RETRIEVE_MAX = 2000
REPLICATION_IDS_MAX = 600_000        # §4/§5: getUpdated/getDeleted id cap (EXCEEDED_ID_LIMIT)
UPDATED_DAYS, DELETED_DAYS = 30, 15  # §4/§5: how far back getUpdated/getDeleted reach
MINUTE_MS, DAY_MS = 60_000, 86_400_000
CURSORS_MAX = 500                    # open query cursors kept (real ones live 2 days)
BULK_RESULTS_DEFAULT = 50_000        # unverified: page size when maxRecords is absent
LATEST = "62.0"
VERSIONS = ["58.0", "59.0", "60.0", "61.0", "62.0"]

CSV_TYPE = "text/csv"
JSON_TYPE = "application/json;charset=UTF-8"

# ---------------------------------------------------------------- ids (§2)
# 15 case-sensitive characters plus a 3-character case checksum.
_CK = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def id18(id15):
    out = id15
    for i in range(3):
        bits = 0
        for j, ch in enumerate(id15[i * 5:i * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << j
        out += _CK[bits]
    return out


def make_id(prefix, n):
    return id18("%sDm%010d" % (prefix, n))


ID_RX = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")


def norm_id(s):
    """15- or 18-character id -> the 18-character form, else None."""
    if not isinstance(s, str) or not ID_RX.match(s):
        return None
    return s if len(s) == 18 else id18(s)


ORG_ID = make_id("00D", 4242)
API_USER = make_id("005", 1)

# ------------------------------------------------------------------ schema


class F:
    """One describe field."""

    def __init__(self, name, ftype, label=None, req=False, ro=False, create_only=False, default=False,
                 custom=None, picklist=None, ref=None, ext=False, unique=False, length=None, restricted=False):
        self.name, self.type = name, ftype
        self.label = label or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name.replace("__c", "").replace("_", " "))
        self.nillable = not req and ftype not in ("boolean",)
        self.createable = not ro
        self.updateable = not ro and not create_only
        self.defaulted = default or ftype == "boolean"
        self.custom = name.endswith("__c") if custom is None else custom
        self.picklist = list(picklist or [])
        self.ref = ref
        self.ext, self.unique, self.restricted = ext, unique, restricted
        self.length = length if length is not None else (255 if ftype in ("string", "url", "email", "phone", "picklist", "textarea") else 0)

    def describe(self):
        d = {
            "name": self.name, "label": self.label, "type": self.type, "length": self.length,
            "nillable": self.nillable, "createable": self.createable, "updateable": self.updateable,
            "defaultedOnCreate": self.defaulted, "custom": self.custom, "calculated": False,
            "externalId": self.ext, "idLookup": self.ext or self.name in ("Id", "Email", "Name"),
            "unique": self.unique, "filterable": True, "sortable": self.type != "textarea",
            "groupable": self.type not in ("textarea", "double", "currency", "percent"),
            "referenceTo": [self.ref] if self.ref else [],
            "relationshipName": relationship_name(self),
            "restrictedPicklist": self.restricted, "soapType": SOAP.get(self.type, "xsd:string"),
            "picklistValues": [{"active": True, "defaultValue": i == 0 and self.defaulted, "label": lbl,
                                "validFor": None, "value": v} for i, (v, lbl) in enumerate(self.picklist)],
        }
        if self.type in ("double", "currency", "percent"):
            d["precision"], d["scale"] = 18, 2
        if self.type == "int":
            d["digits"] = 9
        return d


def relationship_name(f):
    """AccountId -> Account, Foo__c -> Foo__r (OBJ); None for non-lookups."""
    if not f.ref:
        return None
    if f.name.endswith("__c"):
        return f.name[:-3] + "__r"
    return f.name[:-2] if f.name.endswith("Id") else None


class PathField:
    """A parent-relationship field of a SOQL select list, e.g. Account.Name or Account.Owner.Email."""

    def __init__(self, steps, leaf):
        self.steps, self.leaf = steps, leaf          # steps: [(lookup F, parent sObject name)]
        self.name = ".".join([relationship_name(ref) for ref, _ in steps] + [leaf.name])
        self.type = leaf.type

    def __eq__(self, other):
        return isinstance(other, PathField) and other.name.lower() == self.name.lower()

    def __hash__(self):
        return hash(self.name.lower())

    def target(self, rec, store):
        """The record holding the leaf value, or None where a lookup on the way is empty."""
        for ref, _obj in self.steps:
            got = store.get(rec.get(ref.name)) if rec and rec.get(ref.name) else None
            rec = got[1] if got else None
            if rec is None:
                return None
        return rec


def field_value(f, rec, store):
    if isinstance(f, PathField):
        t = f.target(rec, store)
        return t.get(f.leaf.name) if t else None
    return rec.get(f.name)


SOAP = {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
        "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double", "date": "xsd:date",
        "datetime": "xsd:dateTime", "address": "urn:address"}


def pl(*values):
    return [(v, v) for v in values]


# Picklists are (value, label): the value is the API name that records
# hold and writes send, the label what describe shows people (§15).  This
# org's admin has relabelled a few standard values, as admins do (Setup,
# edit a picklist value: the API name stays), so labels and values differ.
INDUSTRIES = pl("Agriculture", "Banking", "Biotechnology", "Communications", "Consulting", "Education",
                "Electronics", "Energy", "Engineering", "Food & Beverage", "Healthcare", "Manufacturing",
                "Media", "Retail", "Technology", "Transportation")
INDUSTRIES[4] = ("Consulting", "Management Consulting")
SOURCES = pl("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
SOURCES[0] = ("Web", "Website")
LEAD_STATUS = pl("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
LEAD_STATUS[1] = ("Working - Contacted", "Contacted")
# The OpportunityStage records (§15): ApiName (StageName's value), IsClosed,
# IsWon, DefaultProbability, MasterLabel.  WON = IsWon; LOST = IsClosed and
# not IsWon.
STAGES = [
    ("Prospecting", False, False, 10, "Prospecting"), ("Qualification", False, False, 10, "Qualification"),
    ("Needs Analysis", False, False, 20, "Needs Analysis"), ("Value Proposition", False, False, 50, "Value Proposition"),
    ("Id. Decision Makers", False, False, 60, "Identify Decision Makers"),
    ("Perception Analysis", False, False, 70, "Perception Analysis"),
    ("Proposal/Price Quote", False, False, 75, "Proposal/Price Quote"),
    ("Negotiation/Review", False, False, 90, "Negotiation"),
    ("Closed Won", True, True, 100, "Closed Won"), ("Closed Lost", True, False, 0, "Closed Lost"),
]
STAGE_INFO = {s[0].lower(): s for s in STAGES}
# sObjects that are read through the API only (describe, query), never written.
READ_ONLY = ("Organization", "OpportunityStage")
CURRENCIES = pl("USD", "EUR", "GBP", "DKK", "PLN", "JPY")
COLOURS = pl("Teal", "Red", "Green", "Blue", "Ochre", "Magenta")
REGIONS = pl("AMER", "EMEA", "APAC")


def system_fields(owner=True):
    out = [
        F("Id", "id", "Record ID", req=True, ro=True, default=True),
        F("IsDeleted", "boolean", "Deleted", ro=True),
        F("CreatedDate", "datetime", "Created Date", req=True, ro=True, default=True),
        F("CreatedById", "reference", "Created By ID", req=True, ro=True, default=True, ref="User"),
        F("LastModifiedDate", "datetime", "Last Modified Date", req=True, ro=True, default=True),
        F("LastModifiedById", "reference", "Last Modified By ID", req=True, ro=True, default=True, ref="User"),
        F("SystemModstamp", "datetime", "System Modstamp", req=True, ro=True, default=True),
    ]
    if owner:
        out.append(F("OwnerId", "reference", "Owner ID", req=True, default=True, ref="User"))
    return out


def address(prefix, label):
    return [F(prefix + "Street", "textarea", label + " Street"), F(prefix + "City", "string", label + " City"),
            F(prefix + "State", "string", label + " State/Province"),
            F(prefix + "PostalCode", "string", label + " Zip/Postal Code"),
            F(prefix + "Country", "string", label + " Country"),
            F(prefix + "Address", "address", label + " Address", ro=True)]


SCHEMA = {
    "Account": ("001", "Accounts", system_fields() + [
        F("Name", "string", "Account Name", req=True), F("Description", "textarea"),
        F("Industry", "picklist", picklist=INDUSTRIES), F("Website", "url"),
        F("NumberOfEmployees", "int", "Employees"), F("Phone", "phone", "Account Phone"),
        F("Fax", "phone", "Account Fax"), F("AccountSource", "picklist", picklist=SOURCES),
        F("AnnualRevenue", "currency")] + address("Billing", "Billing") + address("Shipping", "Shipping") + [
        F("LastActivityDate", "date", ro=True),
        F("Region__c", "picklist", "Region", picklist=REGIONS),
        F("Customer_Since__c", "date", "Customer since"),
        F("External_Id__c", "string", "External ID", ext=True, unique=True),
    ]),
    "Contact": ("003", "Contacts", system_fields() + [
        F("FirstName", "string"), F("LastName", "string", req=True), F("Name", "string", "Full Name", ro=True),
        F("Title", "string"), F("Email", "email"), F("Phone", "phone", "Business Phone"),
        F("MobilePhone", "phone"), F("HomePhone", "phone"), F("OtherPhone", "phone"), F("Fax", "phone"),
        F("AccountId", "reference", "Account ID", ref="Account"), F("LeadSource", "picklist", picklist=SOURCES),
        F("Description", "textarea")] + address("Mailing", "Mailing") + address("Other", "Other") + [
        F("LastActivityDate", "date", ro=True),
        F("Favourite_Colour__c", "picklist", "Favourite colour", picklist=COLOURS),
        F("Loyalty_Tier__c", "string", "Loyalty tier"),
        F("Score__c", "double", "Score"),
        F("External_Id__c", "string", "External ID", ext=True, unique=True),
    ]),
    "Lead": ("00Q", "Leads", system_fields() + [
        F("FirstName", "string"), F("LastName", "string", req=True), F("Name", "string", "Full Name", ro=True),
        F("Title", "string"), F("Company", "string", req=True), F("Email", "email"), F("Phone", "phone"),
        F("MobilePhone", "phone"), F("Fax", "phone"), F("Website", "url"),
        F("Status", "picklist", "Lead Status", req=True, default=True, picklist=LEAD_STATUS),
        F("LeadSource", "picklist", picklist=SOURCES), F("Industry", "picklist", picklist=INDUSTRIES),
        F("NumberOfEmployees", "int", "Employees"), F("AnnualRevenue", "currency"), F("Description", "textarea"),
        F("Street", "textarea"), F("City", "string"), F("State", "string", "State/Province"),
        F("PostalCode", "string", "Zip/Postal Code"), F("Country", "string"), F("Address", "address", ro=True),
        F("IsConverted", "boolean", "Converted", ro=True), F("ConvertedDate", "date", ro=True),
        F("ConvertedAccountId", "reference", ro=True, ref="Account"),
        F("ConvertedContactId", "reference", ro=True, ref="Contact"),
        F("ConvertedOpportunityId", "reference", ro=True, ref="Opportunity"),
        F("LastActivityDate", "date", ro=True),
        F("Interest__c", "picklist", "Product interest", picklist=pl("Robots", "Analytics", "Logistics")),
    ]),
    "Opportunity": ("006", "Opportunities", system_fields() + [
        F("Name", "string", "Opportunity Name", req=True), F("Description", "textarea"),
        # StageName behaves as a restricted picklist (§15, from one client
        # fixture: unverified): an unknown stage is refused.
        F("StageName", "picklist", "Stage", req=True, restricted=True, picklist=[(s[0], s[4]) for s in STAGES]),
        F("Amount", "currency"), F("Probability", "percent", "Probability (%)"),
        F("CloseDate", "date", "Close Date", req=True), F("AccountId", "reference", "Account ID", ref="Account"),
        F("Type", "picklist", picklist=pl("New Customer", "Existing Customer - Upgrade", "Existing Customer - Replacement")),
        F("LeadSource", "picklist", picklist=SOURCES),
        F("IsClosed", "boolean", "Closed", ro=True), F("IsWon", "boolean", "Won", ro=True),
        F("ForecastCategoryName", "picklist", "Forecast Category", ro=True,
          picklist=pl("Pipeline", "Best Case", "Commit", "Omitted", "Closed")),
        F("LastActivityDate", "date", ro=True),
        F("Competitor__c", "string", "Main competitor"),
    ]),
    "User": ("005", "Users", system_fields(owner=False) + [
        F("Username", "string", req=True, unique=True), F("FirstName", "string"),
        F("LastName", "string", req=True), F("Name", "string", "Full Name", ro=True),
        F("Email", "email", req=True), F("IsActive", "boolean", "Active"), F("Title", "string"),
        F("UserType", "picklist", ro=True, picklist=pl("Standard", "PowerPartner", "CsnOnly")),
    ]),
    "Campaign": ("701", "Campaigns", system_fields() + [
        F("Name", "string", "Campaign Name", req=True), F("IsActive", "boolean", "Active"),
        F("Type", "picklist", picklist=pl("Conference", "Webinar", "Email", "Direct Mail")),
        F("Status", "picklist", picklist=pl("Planned", "In Progress", "Completed", "Aborted")),
        F("NumberOfContacts", "int", ro=True), F("NumberOfLeads", "int", ro=True),
        F("Description", "textarea"),
    ]),
    "CampaignMember": ("00v", "Campaign Members", system_fields(owner=False) + [
        F("CampaignId", "reference", "Campaign ID", req=True, create_only=True, ref="Campaign"),
        F("ContactId", "reference", "Contact ID", create_only=True, ref="Contact"),
        F("LeadId", "reference", "Lead ID", create_only=True, ref="Lead"),
        F("Status", "picklist", default=True, picklist=pl("Sent", "Responded")),
        F("HasResponded", "boolean", "Responded", ro=True),
    ]),
    # The stages' facts (OBJ OpportunityStage; fields as in the object
    # reference): read-only, queried by clients that need won/lost.
    "OpportunityStage": ("01J", "Opportunity Stages", [
        F("Id", "id", "Opportunity Stage ID", req=True, ro=True, default=True),
        F("ApiName", "string", "Api Name", ro=True), F("MasterLabel", "string", "Master Label", ro=True),
        F("IsActive", "boolean", "Active", ro=True), F("IsClosed", "boolean", "Closed", ro=True),
        F("IsWon", "boolean", "Won", ro=True), F("DefaultProbability", "percent", "Probability (%)", ro=True),
        F("ForecastCategoryName", "picklist", "Forecast Category", ro=True,
          picklist=pl("Pipeline", "Best Case", "Commit", "Omitted", "Closed")),
        F("SortOrder", "int", "Sort Order", ro=True), F("Description", "string", ro=True),
        F("CreatedDate", "datetime", "Created Date", req=True, ro=True, default=True),
        F("CreatedById", "reference", "Created By ID", req=True, ro=True, default=True, ref="User"),
        F("LastModifiedDate", "datetime", "Last Modified Date", req=True, ro=True, default=True),
        F("LastModifiedById", "reference", "Last Modified By ID", req=True, ro=True, default=True, ref="User"),
        F("SystemModstamp", "datetime", "System Modstamp", req=True, ro=True, default=True),
    ]),
    "Organization": ("00D", "Organizations", [
        F("Id", "id", "Organization ID", req=True, ro=True, default=True),
        F("Name", "string", ro=True), F("IsSandbox", "boolean", ro=True),
        F("DefaultCurrencyIsoCode", "picklist", ro=True, picklist=CURRENCIES),
        F("SystemModstamp", "datetime", ro=True),
    ]),
}
KEY_PREFIX = {v[0]: k for k, v in SCHEMA.items()}
SEED_ALIASES = {"accounts": "Account", "account": "Account", "contacts": "Contact", "contact": "Contact",
                "leads": "Lead", "lead": "Lead", "deals": "Opportunity", "deal": "Opportunity",
                "opportunities": "Opportunity", "opportunity": "Opportunity", "users": "User", "user": "User",
                "campaigns": "Campaign", "campaign": "Campaign", "campaignmembers": "CampaignMember",
                "campaignmember": "CampaignMember", "organization": "Organization",
                "opportunitystage": "OpportunityStage"}

T = parse_time
CREATED_RANGE = (T("2025-01-01T00:00:00Z"), T("2025-12-31T23:59:59Z"))
MODIFIED_RANGE = (T("2026-01-05T00:00:00Z"), T("2026-09-30T23:59:59Z"))
LOAD_STAMP = T("2026-02-02T02:02:02Z")   # a data load: many rows share this SystemModstamp

# ---------------------------------------------------------------- values


def sf_datetime(ms):
    """Epoch ms -> '2026-11-20T08:00:00.000+0000' (§2: UTC, ms, offset without colon)."""
    return core.iso_ms(ms)[:-1] + "+0000"


def bulk_datetime(ms):
    return core.iso_ms(ms)


def sf_date(ms):
    return core.iso_ms(ms)[:10]


EMAIL_RX = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")
NUM_RX = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


class FieldError(Exception):
    def __init__(self, code, message, fields=()):
        super().__init__(message)
        self.code, self.message, self.fields = code, message, list(fields)

    def item(self, key="statusCode"):
        return {key: self.code, "message": self.message, "fields": self.fields}


def coerce(obj, f, v, store):
    """A written JSON value -> the stored value, or FieldError."""
    if v is None or v == "" or v == "#N/A":
        if not f.nillable and f.type != "boolean":
            raise FieldError("REQUIRED_FIELD_MISSING", "Required fields are missing: [%s]" % f.name, [f.name])
        return False if f.type == "boolean" else None
    t = f.type
    if t in ("string", "textarea", "url", "phone", "picklist", "multipicklist", "combobox"):
        if isinstance(v, (dict, list)):
            raise FieldError("JSON_PARSER_ERROR", "Cannot deserialize instance of %s from %s value" % (t, "START_OBJECT" if isinstance(v, dict) else "START_ARRAY"), [f.name])
        s = v if isinstance(v, str) else ("true" if v is True else "false" if v is False else str(v))
        if f.length and len(s) > (32000 if t == "textarea" else f.length):
            raise FieldError("STRING_TOO_LONG", "%s: data value too large: %s (max length=%d)" % (f.label, s[:40], f.length), [f.name])
        if t == "picklist" and f.restricted and s not in {x for x, _ in f.picklist}:
            raise FieldError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "%s: bad value for restricted picklist field: %s" % (f.label, s), [f.name])
        return s
    if t == "email":
        s = str(v).strip()
        if not EMAIL_RX.match(s):
            raise FieldError("INVALID_EMAIL_ADDRESS", "%s: invalid email address: %s" % (f.label, s), [f.name])
        return s
    if t == "boolean":
        if isinstance(v, bool):
            return v
        if str(v).lower() in ("true", "false"):
            return str(v).lower() == "true"
        raise FieldError("INVALID_TYPE_ON_FIELD_IN_RECORD", "%s: value not of required type: %s" % (f.label, v), [f.name])
    if t in ("int", "double", "currency", "percent"):
        if isinstance(v, bool) or not (isinstance(v, (int, float)) or (isinstance(v, str) and NUM_RX.match(v.strip()))):
            raise FieldError("INVALID_TYPE_ON_FIELD_IN_RECORD", "%s: value not of required type: %s" % (f.label, v), [f.name])
        n = float(v)
        if t == "int":
            if n != int(n):
                raise FieldError("INVALID_TYPE_ON_FIELD_IN_RECORD", "%s: value not of required type: %s" % (f.label, v), [f.name])
            return int(n)
        return n
    if t == "date":
        ms = parse_time(v) if isinstance(v, str) else None
        if ms is None:
            raise FieldError("INVALID_TYPE_ON_FIELD_IN_RECORD", "%s: value not of required type: %s" % (f.label, v), [f.name])
        return sf_date(ms)
    if t == "datetime":
        ms = parse_time(v) if isinstance(v, str) else None
        if ms is None:
            raise FieldError("INVALID_TYPE_ON_FIELD_IN_RECORD", "%s: value not of required type: %s" % (f.label, v), [f.name])
        return ms
    if t == "reference":
        rid = norm_id(v)
        if rid is None:
            raise FieldError("MALFORMED_ID", "%s: id value of incorrect type: %s" % (f.label, v), [f.name])
        target = store.get(rid)
        if target is None or target[0] != f.ref or target[1].get("IsDeleted"):
            raise FieldError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
        return rid
    return v


def render(obj, f, v, bulk=False):
    """A stored value -> its JSON (REST) or CSV text (Bulk) form."""
    if v is None:
        return "" if bulk else None
    if f.type == "datetime":
        return bulk_datetime(v) if bulk else sf_datetime(v)
    if bulk:
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)
    return v


# ==================================================================== SOQL (§3)

class SoqlError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


TOKEN_RX = re.compile(r"""\s*(?:
    (?P<str>'(?:[^'\\]|\\.)*')
  | (?P<dt>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))
  | (?P<date>\d{4}-\d\d-\d\d)
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>|\(|\)|,)
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
)""", re.X)


def tokenize(q):
    pos, out = 0, []
    q = q.rstrip()
    while pos < len(q):
        m = TOKEN_RX.match(q, pos)
        if not m or m.end() == pos:
            raise SoqlError("MALFORMED_QUERY", "unexpected token: '%s'" % q[pos:pos + 20].strip())
        pos = m.end()
        kind = m.lastgroup
        text = m.group(kind)
        if kind == "str":
            val = re.sub(r"\\(.)", lambda x: {"n": "\n", "t": "\t", "r": "\r"}.get(x.group(1), x.group(1)), text[1:-1])
            out.append(("val", val))
        elif kind == "dt":
            out.append(("val", ("dt", parse_time(text))))
        elif kind == "date":
            out.append(("val", ("date", text)))
        elif kind == "num":
            out.append(("val", float(text) if "." in text else int(text)))
        elif kind == "op":
            out.append(("op", text))
        else:
            up = text.upper()
            if up in ("TRUE", "FALSE"):
                out.append(("val", up == "TRUE"))
            elif up == "NULL":
                out.append(("val", None))
            else:
                out.append(("word", text))
    return out


KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
            "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "INCLUDES", "EXCLUDES"}


class Query:
    """SELECT fields FROM obj [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n];
    a field may be a parent path (Account.Owner.Name)."""

    def __init__(self, text, schema_for):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.kw("SELECT")
        self.count = False
        raw_fields = []
        while True:
            w = self.word()
            if w.upper() == "COUNT" and self.peek() == ("op", "("):
                self.i += 1
                self.expect(")")
                self.count = True
            else:
                raw_fields.append(w)
            if self.peek() == ("op", ","):
                self.i += 1
                continue
            break
        self.kw("FROM")
        obj = self.word()
        self.obj, self.fields_by = schema_for(obj)
        self.schema_for = schema_for
        self.store = None   # set by the caller before test/sort (parent lookups)
        self.fields = []
        for name in raw_fields:
            f = self.field(name)
            if f in self.fields:
                raise SoqlError("MALFORMED_QUERY", "duplicate field selected: %s" % f.name)
            self.fields.append(f)
        if not self.fields and not self.count:
            raise SoqlError("MALFORMED_QUERY", "unexpected token: 'FROM'")
        self.where = None
        self.order = []
        self.limit = None
        self.offset = 0
        if self.at_kw("WHERE"):
            self.i += 1
            self.where = self.cond()
        if self.at_kw("ORDER"):
            self.i += 1
            self.kw("BY")
            while True:
                f = self.field(self.word())
                desc, nulls_last = False, False
                if self.at_kw("ASC"):
                    self.i += 1
                elif self.at_kw("DESC"):
                    self.i += 1
                    desc, nulls_last = True, True
                if self.at_kw("NULLS"):
                    self.i += 1
                    w = self.word().upper()
                    nulls_last = w == "LAST"
                self.order.append((f, desc, nulls_last))
                if self.peek() == ("op", ","):
                    self.i += 1
                    continue
                break
        if self.at_kw("LIMIT"):
            self.i += 1
            self.limit = self.intval()
        if self.at_kw("OFFSET"):
            self.i += 1
            self.offset = self.intval()
            if self.offset > 2000:
                raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
        if self.i != len(self.toks):
            raise SoqlError("MALFORMED_QUERY", "unexpected token: '%s'" % self.show(self.toks[self.i]))

    # -- token helpers
    @staticmethod
    def show(t):
        return t[1] if not isinstance(t[1], tuple) else t[1][1]

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def at_kw(self, k):
        t = self.peek()
        return t[0] == "word" and t[1].upper() == k

    def kw(self, k):
        if not self.at_kw(k):
            t = self.peek()
            raise SoqlError("MALFORMED_QUERY", "unexpected token: '%s'" % (self.show(t) if t[0] else "<EOF>"))
        self.i += 1

    def word(self):
        t = self.peek()
        if t[0] != "word":
            raise SoqlError("MALFORMED_QUERY", "unexpected token: '%s'" % (self.show(t) if t[0] else "<EOF>"))
        self.i += 1
        return t[1]

    def expect(self, op):
        if self.peek() != ("op", op):
            t = self.peek()
            raise SoqlError("MALFORMED_QUERY", "unexpected token: '%s'" % (self.show(t) if t[0] else "<EOF>"))
        self.i += 1

    def intval(self):
        t = self.peek()
        if t[0] != "val" or not isinstance(t[1], int) or isinstance(t[1], bool):
            raise SoqlError("MALFORMED_QUERY", "unexpected token: '%s'" % (self.show(t) if t[0] else "<EOF>"))
        self.i += 1
        return t[1]

    def field(self, name):
        if "." in name:
            return self.path_field(name)
        f = self.fields_by.get(name.lower())
        if f is None:
            raise SoqlError("INVALID_FIELD", "\n%s\n^\nERROR at Row:1:Column:1\nNo such column '%s' on entity '%s'. "
                            "If you are attempting to use a custom field, be sure to append the '__c' after the "
                            "custom field name. Please reference your WSDL or the describe call for the appropriate "
                            "names." % (self.text[:80], name, self.obj))
        return f

    def path_field(self, name):
        """Parent relationship path (child-to-parent, up to 5 levels in SOQL)."""
        parts = name.split(".")
        by, obj, steps = self.fields_by, self.obj, []
        if parts[0].lower() == self.obj.lower() and len(parts) > 1:
            parts = parts[1:]     # SOQL allows the object name as a prefix
            if len(parts) == 1:
                return self.field(parts[0])
        for rel in parts[:-1]:
            ref = next((f for f in by.values() if f.ref and (relationship_name(f) or "").lower() == rel.lower()), None)
            if ref is None or len(steps) >= 5:
                raise SoqlError("INVALID_FIELD", "\n%s\n^\nERROR at Row:1:Column:1\nDidn't understand relationship "
                                "'%s' in field path. If you are attempting to use a custom relationship, be sure to "
                                "append the '__r' after the custom relationship name. Please reference your WSDL or "
                                "the describe call for the appropriate names." % (self.text[:80], rel))
            obj, by = self.schema_for(ref.ref)
            steps.append((ref, obj))
        leaf = by.get(parts[-1].lower())
        if leaf is None:
            raise SoqlError("INVALID_FIELD", "\n%s\n^\nERROR at Row:1:Column:1\nNo such column '%s' on entity '%s'. "
                            "If you are attempting to use a custom field, be sure to append the '__c' after the "
                            "custom field name. Please reference your WSDL or the describe call for the appropriate "
                            "names." % (self.text[:80], parts[-1], obj))
        return PathField(steps, leaf)

    def value(self):
        t = self.peek()
        if t[0] != "val":
            raise SoqlError("MALFORMED_QUERY", "unexpected token: '%s'" % (self.show(t) if t[0] else "<EOF>"))
        self.i += 1
        return t[1]

    # -- conditions: OR of ANDs of factors
    def cond(self):
        left = self.conj()
        while self.at_kw("OR"):
            self.i += 1
            right = self.conj()
            left = ("or", left, right)
        return left

    def conj(self):
        left = self.factor()
        while self.at_kw("AND"):
            self.i += 1
            right = self.factor()
            left = ("and", left, right)
        return left

    def factor(self):
        if self.at_kw("NOT"):
            self.i += 1
            return ("not", self.factor())
        if self.peek() == ("op", "("):
            self.i += 1
            c = self.cond()
            self.expect(")")
            return c
        f = self.field(self.word())
        if self.at_kw("NOT"):
            self.i += 1
            self.kw("IN")
            return ("notin", f, self.value_list(f))
        if self.at_kw("IN"):
            self.i += 1
            return ("in", f, self.value_list(f))
        if self.at_kw("LIKE"):
            self.i += 1
            v = self.value()
            rx = re.compile("^" + "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(v)) + "$",
                            re.I | re.S)
            return ("like", f, rx)
        t = self.peek()
        if t[0] != "op" or t[1] in ("(", ")", ","):
            raise SoqlError("MALFORMED_QUERY", "unexpected token: '%s'" % (self.show(t) if t[0] else "<EOF>"))
        self.i += 1
        return ("cmp", f, t[1], self.literal(f, self.value()))

    def value_list(self, f):
        self.expect("(")
        vals = [self.literal(f, self.value())]
        while self.peek() == ("op", ","):
            self.i += 1
            vals.append(self.literal(f, self.value()))
        self.expect(")")
        return vals

    def literal(self, f, v):
        """Converts a literal to the field's comparable form (type-checked like SOQL)."""
        if v is None:
            return None
        if f.type == "datetime":
            if not (isinstance(v, tuple) and v[0] == "dt"):
                raise SoqlError("INVALID_FIELD", "value of filter criterion for field '%s' must be of type "
                                "dateTime and should not be enclosed in quotes" % f.name)
            return v[1]
        if f.type == "date":
            if not (isinstance(v, tuple) and v[0] == "date"):
                raise SoqlError("INVALID_FIELD", "value of filter criterion for field '%s' must be of type "
                                "date and should not be enclosed in quotes" % f.name)
            return v[1]
        if f.type == "boolean":
            if not isinstance(v, bool):
                raise SoqlError("INVALID_FIELD", "value of filter criterion for field '%s' must be of type "
                                "boolean and should not be enclosed in quotes" % f.name)
            return v
        if f.type in ("int", "double", "currency", "percent"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise SoqlError("INVALID_FIELD", "value of filter criterion for field '%s' must be of type "
                                "double and should not be enclosed in quotes" % f.name)
            return v
        if isinstance(v, tuple) or isinstance(v, bool) or not isinstance(v, str):
            raise SoqlError("INVALID_FIELD", "value of filter criterion for field '%s' must be of type "
                            "string and should be enclosed in quotes" % f.name)
        if f.type in ("id", "reference"):
            rid = norm_id(v)
            if rid is None and v != "":
                raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: %s" % v)
            return rid or ""
        return v.lower()   # string comparisons are case-insensitive

    # -- evaluation
    def key(self, f, rec):
        v = field_value(f, rec, self.store)
        if isinstance(v, str) and f.type not in ("id", "reference"):
            return v.lower()
        return v

    def test(self, c, rec):
        op = c[0]
        if op == "and":
            return self.test(c[1], rec) and self.test(c[2], rec)
        if op == "or":
            return self.test(c[1], rec) or self.test(c[2], rec)
        if op == "not":
            return not self.test(c[1], rec)
        v = self.key(c[1], rec)
        if op == "in":
            return v in c[2]
        if op == "notin":
            return v not in c[2]
        if op == "like":
            return v is not None and bool(c[2].match(str(field_value(c[1], rec, self.store))))
        cmp, lit = c[2], c[3]
        if cmp == "=":
            return v == lit
        if cmp in ("!=", "<>"):
            return v != lit
        if v is None or lit is None:
            return False
        if cmp == "<":
            return v < lit
        if cmp == "<=":
            return v <= lit
        if cmp == ">":
            return v > lit
        return v >= lit

    def sort(self, recs):
        for f, desc, nulls_last in reversed(self.order):
            present = [r for r in recs if field_value(f, r, self.store) is not None]
            absent = [r for r in recs if field_value(f, r, self.store) is None]
            present.sort(key=lambda r: self.key(f, r), reverse=desc)
            recs = present + absent if nulls_last else absent + present
        return recs

    def filter_names(self):
        """Names of fields the WHERE compares (for the IsDeleted check of queryAll)."""
        out = set()

        def walk(c):
            if c is None:
                return
            if c[0] in ("and", "or"):
                walk(c[1])
                walk(c[2])
            elif c[0] == "not":
                walk(c[1])
            else:
                out.add(c[1].name)
        walk(self.where)
        return out


# ============================================================= record store


class Store:
    """Every record of the org, by 18-character id: id -> (object, fields)."""

    def __init__(self):
        self.recs = {}
        self.order = {k: [] for k in SCHEMA}
        self.next = {k: 1000 for k in SCHEMA}

    def get(self, rid):
        return self.recs.get(rid)

    def new_id(self, obj):
        self.next[obj] += 1
        return make_id(SCHEMA[obj][0], self.next[obj])

    def put(self, obj, rec):
        if rec["Id"] not in self.recs:
            self.order[obj].append(rec["Id"])
        self.recs[rec["Id"]] = (obj, rec)

    def all(self, obj):
        return [self.recs[i][1] for i in self.order[obj]]

    def copy(self):
        s = Store()
        s.recs = {k: (o, dict(r)) for k, (o, r) in self.recs.items()}
        s.order = {k: list(v) for k, v in self.order.items()}
        s.next = dict(self.next)
        return s


def seed(counts, seed_value, store):
    fk = Fake(seed_value, "salesforce")
    n_users = counts.get("User", 5)
    n_acc = counts.get("Account", 12)
    n_con = counts.get("Contact", 60)
    n_lead = counts.get("Lead", 6)
    n_opp = counts.get("Opportunity", 12)
    n_camp = counts.get("Campaign", 3)

    def stamps(created_only=False):
        c = fk.timestamp(*CREATED_RANGE) // 1000 * 1000
        m = fk.timestamp(*MODIFIED_RANGE) // 1000 * 1000
        return {"CreatedDate": c, "CreatedById": API_USER, "LastModifiedDate": m, "LastModifiedById": API_USER,
                "SystemModstamp": m, "IsDeleted": False}

    users = []
    for i in range(max(1, n_users)):
        first, last = ("Demo", "Admin") if i == 0 else (fk.first_name(), fk.last_name())
        uid = make_id("005", i + 1)
        slug = ascii_slug(first + " " + last)
        rec = {"Id": uid, "Username": "%s@demo-org.example" % slug if i else "admin@demo-org.example",
               "FirstName": first, "LastName": last, "Name": first + " " + last,
               "Email": "%s@demo-org.example" % slug if i else "admin@demo-org.example",
               "IsActive": i == 0 or not (i % 4 == 3), "Title": fk.pick(["Sales Rep", "Account Executive", "Manager", None]),
               "UserType": "Standard"}
        rec.update(stamps())
        store.put("User", rec)
        users.append(uid)
    store.next["User"] = len(users) + 1000

    def owner():
        return users[fk.int(0, len(users) - 1)]

    def base(obj, n):
        rec = {"Id": make_id(SCHEMA[obj][0], n)}
        rec.update(stamps())
        return rec

    accounts = []
    for i in range(n_acc):
        name = fk.company_name()
        city = fk.city()
        rec = base("Account", i + 1)
        dom = "%s.example" % ascii_slug(name.split(" ")[0] + " " + name.split(" ")[1], "-")
        rec.update({
            "Name": name, "OwnerId": owner(), "Industry": fk.pick(INDUSTRIES)[0],
            "Website": ("https://www.%s" % dom) if fk.chance(0.85) else None,
            "NumberOfEmployees": fk.int(5, 20000) if fk.chance(0.8) else None,
            "Phone": fk.phone(), "Fax": None, "AccountSource": fk.pick(SOURCES)[0] if fk.chance(0.5) else None,
            "AnnualRevenue": float(fk.int(1, 500) * 100000) if fk.chance(0.6) else None,
            "Description": "Ånnual review — %s" % name if fk.chance(0.3) else None,
            "BillingStreet": fk.street(), "BillingCity": city[0], "BillingState": city[1] or None,
            "BillingPostalCode": city[2], "BillingCountry": city[3],
            "ShippingStreet": None, "ShippingCity": None, "ShippingState": None, "ShippingPostalCode": None,
            "ShippingCountry": None,
            "LastActivityDate": sf_date(rec["SystemModstamp"]) if fk.chance(0.4) else None,
            "Region__c": city[4], "Customer_Since__c": sf_date(rec["CreatedDate"]) if fk.chance(0.5) else None,
            "External_Id__c": "ACC-%05d" % (i + 1) if fk.chance(0.5) else None,
        })
        if i % 11 == 10:
            rec["IsDeleted"] = True
        store.put("Account", rec)
        accounts.append(rec)
    store.next["Account"] = n_acc + 1000
    live_acc = [a["Id"] for a in accounts if not a["IsDeleted"]]

    contacts = []
    for i in range(n_con):
        first, last = fk.first_name(), fk.last_name()
        rec = base("Contact", i + 1)
        acc = live_acc[fk.int(0, len(live_acc) - 1)] if live_acc and fk.chance(0.9) else None
        city = fk.city()
        dom = "example.org"
        if acc:
            w = store.get(acc)[1].get("Website")
            if w:
                dom = w.split("www.", 1)[1]
        rec.update({
            "FirstName": first if fk.chance(0.95) else None, "LastName": last,
            "Title": fk.pick(["CTO", "CEO", "VP Sales", "Buyer", "Engineer", "Directrice générale", None]),
            "Email": ("%s.%d@%s" % (ascii_slug(first + " " + last), i + 1, dom)) if fk.chance(0.92) else None,
            "Phone": fk.phone() if fk.chance(0.7) else None, "MobilePhone": fk.phone() if fk.chance(0.4) else None,
            "HomePhone": None, "OtherPhone": None, "Fax": None, "AccountId": acc, "OwnerId": owner(),
            "LeadSource": fk.pick(SOURCES)[0] if fk.chance(0.5) else None, "Description": None,
            "MailingStreet": fk.street() if fk.chance(0.6) else None, "MailingCity": city[0],
            "MailingState": city[1] or None, "MailingPostalCode": city[2], "MailingCountry": city[3],
            "OtherStreet": None, "OtherCity": None, "OtherState": None, "OtherPostalCode": None, "OtherCountry": None,
            "LastActivityDate": sf_date(rec["SystemModstamp"]) if fk.chance(0.3) else None,
            "Favourite_Colour__c": fk.pick(COLOURS)[0] if fk.chance(0.5) else None,
            "Loyalty_Tier__c": fk.pick(["Gold", "Silver", "Bronze", "Platinum ✦"]) if fk.chance(0.4) else None,
            "Score__c": round(fk.int(0, 1000) / 10.0, 1) if fk.chance(0.5) else None,
            "External_Id__c": None,
        })
        rec["Name"] = " ".join(x for x in (rec["FirstName"], rec["LastName"]) if x)
        if i % 5 == 4 or (n_con > 1000 and i % 2 == 0):
            # A data load: one SystemModstamp for many rows (§4 ties).
            rec["SystemModstamp"] = rec["LastModifiedDate"] = LOAD_STAMP
        if i % 23 == 22:
            rec["IsDeleted"] = True
        store.put("Contact", rec)
        contacts.append(rec)
    store.next["Contact"] = n_con + 1000
    live_con = [c["Id"] for c in contacts if not c["IsDeleted"]]

    leads = []
    for i in range(n_lead):
        first, last = fk.first_name(), fk.last_name()
        rec = base("Lead", i + 1)
        city = fk.city()
        converted = i % 5 == 2 and live_con
        rec.update({
            "FirstName": first, "LastName": last, "Name": first + " " + last,
            "Title": fk.pick(["Buyer", "Head of IT", "Owner", None]), "Company": fk.company_name(),
            "Email": "%s@lead%d.example.net" % (ascii_slug(first + " " + last), i + 1),
            "Phone": fk.phone() if fk.chance(0.6) else None, "MobilePhone": None, "Fax": None, "Website": None,
            "Status": "Closed - Converted" if converted else fk.pick(LEAD_STATUS[:2] + LEAD_STATUS[3:])[0],
            "LeadSource": fk.pick(SOURCES)[0], "Industry": fk.pick(INDUSTRIES)[0] if fk.chance(0.5) else None,
            "NumberOfEmployees": None, "AnnualRevenue": None, "Description": None,
            "Street": fk.street(), "City": city[0], "State": city[1] or None, "PostalCode": city[2],
            "Country": city[3], "OwnerId": owner(), "IsConverted": bool(converted),
            "ConvertedDate": sf_date(rec["SystemModstamp"]) if converted else None,
            "ConvertedAccountId": None, "ConvertedContactId": None, "ConvertedOpportunityId": None,
            "LastActivityDate": None, "Interest__c": fk.pick(["Robots", "Analytics", "Logistics", None]),
        })
        if converted:
            cid = live_con[fk.int(0, len(live_con) - 1)]
            rec["ConvertedContactId"] = cid
            rec["ConvertedAccountId"] = store.get(cid)[1].get("AccountId")
        if i % 7 == 6:
            rec["IsDeleted"] = True
        store.put("Lead", rec)
        leads.append(rec)
    store.next["Lead"] = n_lead + 1000

    for i in range(n_opp):
        rec = base("Opportunity", i + 1)
        stage = STAGES[fk.int(0, len(STAGES) - 1)]
        acc = live_acc[fk.int(0, len(live_acc) - 1)] if live_acc else None
        rec.update({
            "Name": "%s — %s" % (store.get(acc)[1]["Name"] if acc else "Direct", fk.pick(["Renewal", "Expansion", "Pilot", "Großauftrag"])),
            "Description": None, "StageName": stage[0], "IsClosed": stage[1], "IsWon": stage[2],
            "Probability": float(stage[3]), "Amount": float(fk.int(1, 900) * 250) if fk.chance(0.9) else None,
            "CloseDate": sf_date(fk.timestamp(*MODIFIED_RANGE)), "AccountId": acc, "OwnerId": owner(),
            "Type": fk.pick(["New Customer", "Existing Customer - Upgrade", None]), "LeadSource": None,
            "ForecastCategoryName": "Closed" if stage[2] else "Omitted" if stage[1] else "Pipeline",
            "LastActivityDate": None, "Competitor__c": fk.pick(["Globex", "Initech", None]),
        })
        if i % 9 == 8:
            rec["IsDeleted"] = True
        store.put("Opportunity", rec)
    store.next["Opportunity"] = n_opp + 1000

    names = ["Spring Webinar — Ørsted 2026", "Trade Fair Köln", "Newsletter Q3", "Partner Summit", "Direct Mail"]
    for i in range(n_camp):
        rec = base("Campaign", i + 1)
        rec.update({"Name": names[i % len(names)], "IsActive": i != 2, "Type": ["Webinar", "Conference", "Email"][i % 3],
                    "Status": "In Progress" if i != 2 else "Completed", "NumberOfContacts": 0, "NumberOfLeads": 0,
                    "Description": None, "OwnerId": users[0]})
        store.put("Campaign", rec)
        members = [("ContactId", c) for c in live_con[i * 3:i * 3 + (5 if i == 0 else 3)]] if i < 2 else []
        if i == 0 and leads and not leads[0]["IsDeleted"]:
            members.append(("LeadId", leads[0]["Id"]))
        for key, who in members:
            store.next["CampaignMember"] += 1
            m = base("CampaignMember", store.next["CampaignMember"] - 1000)
            m.update({"CampaignId": rec["Id"], "ContactId": None, "LeadId": None, key: who,
                      "Status": "Responded" if key == "LeadId" else "Sent", "HasResponded": key == "LeadId"})
            store.put("CampaignMember", m)
        rec["NumberOfContacts"] = sum(1 for k, _ in members if k == "ContactId")
        rec["NumberOfLeads"] = sum(1 for k, _ in members if k == "LeadId")
    store.next["Campaign"] = n_camp + 1000
    for i, (api, closed, won, prob, label) in enumerate(STAGES):
        store.put("OpportunityStage", {
            "Id": make_id("01J", i + 1), "ApiName": api, "MasterLabel": label, "IsActive": True,
            "IsClosed": closed, "IsWon": won, "DefaultProbability": float(prob),
            "ForecastCategoryName": "Closed" if won else "Omitted" if closed else "Pipeline",
            "SortOrder": i + 1, "Description": None, "CreatedDate": T("2025-01-01T00:00:00Z"),
            "CreatedById": API_USER, "LastModifiedDate": T("2025-01-01T00:00:00Z"), "LastModifiedById": API_USER,
            "SystemModstamp": T("2025-01-01T00:00:00Z")})
    store.put("Organization", {"Id": ORG_ID, "Name": "Demo Org — Øresund AB", "IsSandbox": True,
                               "DefaultCurrencyIsoCode": "EUR", "SystemModstamp": T("2025-01-01T00:00:00Z")})


# ================================================================ the server

class Salesforce:
    name = "salesforce"

    def __init__(self, options):
        self.clock = options.clock
        self.enforce = options.rate_limits != "off"
        self.lock = threading.RLock()
        counts = {}
        for k, v in (options.records or {}).items():
            name = SEED_ALIASES.get(k.lower(), k if k in SCHEMA else None)
            if name is None:
                raise ValueError("salesforce: unknown object %r in --records (known: contacts, accounts, deals, "
                                 "leads, users, campaigns)" % k)
            counts[name] = v
        self.base_store = Store()
        seed(counts, options.seed, self.base_store)
        self.daily = DailyCounter(options.daily_limit or DAILY_LIMIT, self.clock)
        self.router = Router()
        self._routes()
        self.reset()

    def credentials(self, url):
        return "SALESFORCE_ACCESS_TOKEN=%s SALESFORCE_INSTANCE_URL=%s" % (DEMO_TOKEN, url)

    def reset(self):
        with self.lock:
            self.store = self.base_store.copy()
            self.tokens = {DEMO_TOKEN: {"expired": False}}
            self.refresh_tokens = {OAUTH_REFRESH_TOKEN}
            self.cursors = {}
            self.cursor_seq = 0
            self.jobs = {}
            self.job_seq = 0
            self.multi_currency = False
            self.daily.reset()
        self.account_changed()

    def account_changed(self):
        """Organization.IsSandbox follows the emulated account (--account, /_emulator/account)."""
        with self.lock:
            org = self.store.get(ORG_ID)
            if org:
                org[1]["IsSandbox"] = getattr(self, "account", "sandbox") != "production"

    # ------------------------------------------------------------ plumbing
    @staticmethod
    def errors(status, code, message, fields=None, headers=None):
        item = {"message": message, "errorCode": code}
        if fields is not None:
            item["fields"] = fields
        return json_response(status, [item], headers)

    def fail(self, status, code, message, fields=None):
        raise HttpError(self.errors(status, code, message, fields))

    def body(self, req):
        ctype = (req.header("Content-Type") or "").lower()
        if req.body and "json" not in ctype:
            self.fail(415, "UNSUPPORTED_MEDIA_TYPE", "Content type '%s' not supported" % ctype)
        try:
            return req.json()
        except BadJson as e:
            self.fail(400, "JSON_PARSER_ERROR", "Unexpected character at [line:%d, column:%d]: %s" % (e.line, e.col, e.msg))

    def schema(self, obj):
        """(canonical name, {lowercased field name: F}) of an sObject, or a 404."""
        name = None
        for k in SCHEMA:
            if k.lower() == str(obj).lower():
                name = k
        if name is None:
            self.fail(404, "NOT_FOUND", "The requested resource does not exist")
        return name, {f.name.lower(): f for f in self.fields_of(name)}

    def soql_schema(self, obj):
        for k in SCHEMA:
            if k.lower() == obj.lower():
                return k, {f.name.lower(): f for f in self.fields_of(k)}
        raise SoqlError("INVALID_TYPE", "\nsObject type '%s' is not supported. If you are attempting to use a custom "
                        "object, be sure to append the '__c' after the entity name. Please reference your WSDL or "
                        "the describe call for the appropriate names." % obj)

    def fields_of(self, obj):
        fs = SCHEMA[obj][2]
        # §2: CurrencyIsoCode exists only in multi-currency orgs.
        if self.multi_currency and obj not in READ_ONLY:
            fs = fs + [F("CurrencyIsoCode", "picklist", "Currency ISO Code", default=True, picklist=CURRENCIES,
                         restricted=True)]
        return fs

    def limit_header(self):
        return ("Sforce-Limit-Info", "api-usage=%d/%d" % (self.daily.used, self.daily.limit))

    def now(self):
        return self.clock.now_ms()

    def stamp(self):
        # §4: SystemModstamp has second precision (shown .000).
        return self.now() // 1000 * 1000

    # One request: route, authenticate, count, run the handler.
    def handle(self, req):
        path = req.path[:-1] if len(req.path) > 1 and req.path.endswith("/") else req.path
        m = re.match(r"^/services/data/v(\d+\.\d)(/.*)?$", path)
        version = None
        if m:
            version, rest = m.group(1), m.group(2) or ""
            path = "/services/data/vX" + rest
        fn, groups = self.router.match(req.method, path)
        if fn is None:
            if groups:
                allowed = ",".join(sorted({mm for mm, rx, _ in self.router.routes if rx.match(path)}))
                return self.errors(405, "METHOD_NOT_ALLOWED",
                                   "HTTP Method '%s' not allowed. Allowed are %s" % (req.method, allowed))
            return self.errors(404, "NOT_FOUND", "The requested resource does not exist")
        req.ctx["version"] = version or LATEST
        if getattr(fn, "public", False):
            with self.lock:
                return self._run(fn, req, groups)
        token = req.bearer()
        auth = req.header("Authorization") or ""
        if token is None and auth[:6].lower() == "oauth ":
            token = auth[6:].strip()   # §1: the legacy scheme works too
        with self.lock:
            info = self.tokens.get(token) if token else None
            if info is None or info["expired"]:
                return self.errors(401, "INVALID_SESSION_ID", "Session expired or invalid",
                                   headers=[("WWW-Authenticate", "Token")])
            ok, _ = self.daily.hit(self.enforce)
            if not ok:
                return self.errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.",
                                   headers=[self.limit_header()])
            resp = self._run(fn, req, groups)
            resp.headers.append(self.limit_header())
            return resp

    def _run(self, fn, req, groups):
        try:
            return fn(req, *groups)
        except HttpError as e:
            return e.response
        except SoqlError as e:
            return self.errors(400, e.code, e.message)
        except (AttributeError, TypeError, KeyError, ValueError, IndexError) as e:
            where = traceback.extract_tb(e.__traceback__)[-1]
            sys.stderr.write("salesforce emulator: 400 for %s %s: %s: %s (salesforce.py:%d)\n"
                             % (req.method, req.path, type(e).__name__, e, where.lineno))
            return self.errors(400, "JSON_PARSER_ERROR", "Cannot deserialize request body: %s" % e)

    # ------------------------------------------------------ control API hooks
    def fault_response(self, req, status, rule):
        if status == 401:
            return self.errors(401, "INVALID_SESSION_ID", "Session expired or invalid",
                               headers=[("WWW-Authenticate", "Token")])
        if status == 403:
            return self.errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if status == 429:
            # §10: quotas never use 429; an edge proxy may.  (unverified body)
            return self.errors(429, "REQUEST_LIMIT_EXCEEDED", "Too many requests")
        if status == 420:
            return raw_response(420, "<html><body>We are setting things up. Please try again.</body></html>",
                                "text/html")
        if status == 404:
            return self.errors(404, "NOT_FOUND", "The requested resource does not exist")
        if status == 503:
            return self.errors(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
        if status >= 500:
            return self.errors(status, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this "
                               "ErrorId if you contact support: 1234567-89012 (-1234567890)")
        return self.errors(status, "BAD_REQUEST", "error %d" % status)

    def expire_token(self, req):
        with self.lock:
            token = req.bearer()
            if token in self.tokens:
                self.tokens[token]["expired"] = True
        return self.errors(401, "INVALID_SESSION_ID", "Session expired or invalid",
                           headers=[("WWW-Authenticate", "Token")])

    def redact_path(self, path):
        return path

    def records(self, obj):
        name = SEED_ALIASES.get(obj.lower(), obj if obj in SCHEMA else None)
        if name is None:
            return None
        with self.lock:
            fs = self.fields_of(name)
            return [self.row(name, r, fs) for r in self.store.all(name)]

    def touch(self, obj, body):
        """Server-side change: {"ids": [...], "fields": {...}, "SystemModstamp"?: ISO, "IsDeleted"?: bool};
        touch/org {"multi_currency": true} turns on multi-currency."""
        with self.lock:
            if obj.lower() == "org":
                if "multi_currency" in body:
                    self.multi_currency = bool(body["multi_currency"])
                    for rid, (o, r) in self.store.recs.items():
                        if o not in READ_ONLY:
                            r.setdefault("CurrencyIsoCode", "EUR")
                return {"multi_currency": self.multi_currency}
            name = SEED_ALIASES.get(obj.lower(), obj if obj in SCHEMA else None)
            if name is None:
                return None
            when = parse_time(body["SystemModstamp"]) if body.get("SystemModstamp") else self.stamp()
            touched = []
            for ident in body.get("ids") or []:
                got = self.store.get(norm_id(ident) or "")
                if got is None or got[0] != name:
                    continue
                rec = got[1]
                for k, v in (body.get("fields") or {}).items():
                    rec[k] = v
                if "IsDeleted" in body:
                    rec["IsDeleted"] = bool(body["IsDeleted"])
                rec["SystemModstamp"] = rec["LastModifiedDate"] = when
                touched.append(rec["Id"])
            return {"touched": touched, "SystemModstamp": sf_datetime(when)}

    # ================================================================ routes
    def _routes(self):
        r = self.router
        d = r"/services/data/vX"

        def public(fn):
            fn.__func__.public = True
            return fn

        r.add("GET", r"/services/data", public(self.versions))
        r.add("POST", r"/services/oauth2/token", public(self.oauth_token))
        r.add("POST", r"/services/oauth2/revoke", public(self.oauth_revoke))
        r.add("GET", r"/services/oauth2/userinfo", self.userinfo)
        r.add("GET", r"/id/([^/]+)/([^/]+)", self.identity)
        r.add("GET", d, self.resources)
        r.add("GET", d + r"/limits", self.limits)
        r.add("GET", d + r"/sobjects", self.sobjects)
        r.add("GET", d + r"/sobjects/([^/]+)", self.sobject_info)
        r.add("GET", d + r"/sobjects/([^/]+)/describe", self.describe)
        r.add("GET", d + r"/sobjects/([^/]+)/updated", self.get_updated)
        r.add("GET", d + r"/sobjects/([^/]+)/deleted", self.get_deleted)
        r.add("POST", d + r"/sobjects/([^/]+)", self.create_one)
        r.add("GET", d + r"/sobjects/([^/]+)/([^/]+)", self.get_one)
        r.add("PATCH", d + r"/sobjects/([^/]+)/([^/]+)", self.update_one)
        r.add("DELETE", d + r"/sobjects/([^/]+)/([^/]+)", self.delete_one)
        r.add("PATCH", d + r"/sobjects/([^/]+)/([^/]+)/(.+)", self.upsert_one)
        r.add("GET", d + r"/sobjects/([^/]+)/([^/]+)/(.+)", self.get_by_ext)
        r.add("GET", d + r"/query", self.query_first)
        r.add("GET", d + r"/queryAll", self.query_all_first)
        r.add("GET", d + r"/query/([^/]+)", self.query_more)
        r.add("GET", d + r"/queryAll/([^/]+)", self.query_more)
        r.add("POST", d + r"/composite/sobjects", self.coll_create)
        r.add("PATCH", d + r"/composite/sobjects", self.coll_update)
        r.add("DELETE", d + r"/composite/sobjects", self.coll_delete)
        r.add("PATCH", d + r"/composite/sobjects/([^/]+)/([^/]+)", self.coll_upsert)
        r.add("POST", d + r"/composite/sobjects/([^/]+)", self.coll_retrieve)
        r.add("GET", d + r"/composite/sobjects/([^/]+)", self.coll_retrieve)
        r.add("POST", d + r"/jobs/query", self.qjob_create)
        r.add("GET", d + r"/jobs/query", self.qjob_list)
        r.add("GET", d + r"/jobs/query/([^/]+)", self.qjob_get)
        r.add("PATCH", d + r"/jobs/query/([^/]+)", self.job_patch)
        r.add("DELETE", d + r"/jobs/query/([^/]+)", self.job_delete)
        r.add("GET", d + r"/jobs/query/([^/]+)/results", self.qjob_results)
        r.add("POST", d + r"/jobs/ingest", self.ijob_create)
        r.add("GET", d + r"/jobs/ingest/([^/]+)", self.ijob_get)
        r.add("PUT", d + r"/jobs/ingest/([^/]+)/batches", self.ijob_upload)
        r.add("PATCH", d + r"/jobs/ingest/([^/]+)", self.job_patch)
        r.add("DELETE", d + r"/jobs/ingest/([^/]+)", self.job_delete)
        r.add("GET", d + r"/jobs/ingest/([^/]+)/successfulResults", self.ijob_success)
        r.add("GET", d + r"/jobs/ingest/([^/]+)/failedResults", self.ijob_failed)
        r.add("GET", d + r"/jobs/ingest/([^/]+)/unprocessedrecords", self.ijob_unprocessed)

    # ================================================================ OAuth (§1, §9)
    def host_url(self, req):
        return "http://%s" % (req.header("Host") or "127.0.0.1")

    def oauth_error(self, status, error, desc):
        return json_response(status, {"error": error, "error_description": desc})

    def oauth_token(self, req):
        form = req.form_fields()
        if form.get("grant_type") is None:
            return self.oauth_error(400, "invalid_request", "grant type is missing")
        if form["grant_type"] != "refresh_token":
            return self.oauth_error(400, "unsupported_grant_type", "grant type not supported")
        if form.get("client_id") != OAUTH_CLIENT_ID:
            return self.oauth_error(400, "invalid_client_id", "client identifier invalid")
        if "client_secret" in form and form["client_secret"] != OAUTH_CLIENT_SECRET:
            return self.oauth_error(400, "invalid_client", "invalid client credentials")
        if form.get("refresh_token") not in self.refresh_tokens:
            return self.oauth_error(400, "invalid_grant", "expired access/refresh token")
        token = "%s!AR%s" % (ORG_ID[:15], secrets.token_urlsafe(24))
        self.tokens[token] = {"expired": False}
        base = self.host_url(req)
        # §1: no expires_in; issued_at in ms as a string; the instance URL and id URL point here.
        return json_response(200, {
            "access_token": token, "signature": secrets.token_urlsafe(32), "scope": "refresh_token api",
            "instance_url": base, "id": "%s/id/%s/%s" % (base, ORG_ID, API_USER), "token_type": "Bearer",
            "issued_at": str(self.now()),
        })

    def oauth_revoke(self, req):
        tok = req.form_fields().get("token") or req.arg("token")
        self.tokens.pop(tok, None)
        return empty_response(200)

    def identity_body(self, req):
        base = self.host_url(req)
        u = self.store.get(API_USER)[1]
        return {"sub": "%s/id/%s/%s" % (base, ORG_ID, API_USER), "user_id": API_USER, "organization_id": ORG_ID,
                "preferred_username": u["Username"], "nickname": "admin", "name": u["Name"], "email": u["Email"],
                "email_verified": True, "given_name": u["FirstName"], "family_name": u["LastName"],
                "zoneinfo": "Europe/Copenhagen", "active": True, "user_type": "STANDARD", "language": "en_US",
                "locale": "en_US", "utcOffset": 3600000, "id": "%s/id/%s/%s" % (base, ORG_ID, API_USER),
                "urls": {"rest": base + "/services/data/v{version}/"}}

    def userinfo(self, req):
        return json_response(200, self.identity_body(req))

    def identity(self, req, org, user):
        if org != ORG_ID or user != API_USER:
            return self.oauth_error(404, "Bad_Id", "Bad id")
        return json_response(200, self.identity_body(req))

    # ================================================================ metadata (§7, §9)
    def versions(self, req):
        return json_response(200, [{"label": "Winter '25" if v == LATEST else "v" + v, "url": "/services/data/v" + v,
                                    "version": v} for v in VERSIONS])

    def resources(self, req):
        v = "/services/data/v" + req.ctx["version"]
        return json_response(200, {k: "%s/%s" % (v, k) for k in (
            "limits", "sobjects", "query", "queryAll", "composite", "jobs")} | {
            "identity": "%s/id/%s/%s" % (self.host_url(req), ORG_ID, API_USER)})

    def limits(self, req):
        lim = {"DailyApiRequests": {"Max": self.daily.limit, "Remaining": self.daily.remaining()},
               "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000 - sum(1 for j in self.jobs.values() if j["kind"] == "ingest")},
               "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000 - sum(1 for j in self.jobs.values() if j["kind"] == "query")},
               "DailyBulkV2QueryFileStorageMB": {"Max": 1048576, "Remaining": 1048576},
               "DataStorageMB": {"Max": 5120, "Remaining": 5100},
               "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200}}
        return json_response(200, lim)

    def sobjects(self, req):
        return json_response(200, {"encoding": "UTF-8", "maxBatchSize": COLLECTION_MAX, "sobjects": [
            {"name": k, "label": k, "labelPlural": v[1], "custom": False, "keyPrefix": v[0], "queryable": True,
             "createable": k not in READ_ONLY, "updateable": k not in READ_ONLY,
             "deletable": k not in READ_ONLY + ("User",),
             "urls": {"sobject": "/services/data/v%s/sobjects/%s" % (req.ctx["version"], k),
                      "describe": "/services/data/v%s/sobjects/%s/describe" % (req.ctx["version"], k)}}
            for k, v in SCHEMA.items()]})

    def sobject_info(self, req, obj):
        name, _ = self.schema(obj)
        return json_response(200, {"objectDescribe": {"name": name, "keyPrefix": SCHEMA[name][0], "queryable": True},
                                   "recentItems": []})

    def describe(self, req, obj):
        name, _ = self.schema(obj)
        kp, plural, _fs = SCHEMA[name]
        v = req.ctx["version"]
        return json_response(200, {
            "name": name, "label": name, "labelPlural": plural, "custom": False, "keyPrefix": kp,
            "queryable": True, "createable": name not in READ_ONLY, "updateable": name not in READ_ONLY,
            "deletable": name not in READ_ONLY + ("User",), "retrieveable": True, "searchable": True,
            "fields": [f.describe() for f in self.fields_of(name)],
            "childRelationships": [{"childSObject": "CampaignMember", "field": "CampaignId",
                                    "relationshipName": "CampaignMembers"}] if name == "Campaign" else [],
            "recordTypeInfos": [],
            "urls": {"sobject": "/services/data/v%s/sobjects/%s" % (v, name),
                     "describe": "/services/data/v%s/sobjects/%s/describe" % (v, name)},
        })

    # ================================================================ replication (§4, §5)
    def replication_window(self, req, days):
        """(start, end, latestDateCovered) in ms for getUpdated/getDeleted; seconds are truncated."""
        vals = []
        for k in ("start", "end"):
            raw = req.arg(k)
            if not raw:
                self.fail(400, "MISSING_ARGUMENT", "Missing required parameter: %s" % k)   # unverified text
            ms = parse_time(raw)
            if ms is None:
                self.fail(400, "INVALID_REPLICATION_DATE", "Invalid date: %s" % raw)      # unverified text
            vals.append(ms // MINUTE_MS * MINUTE_MS)
        start, end = vals
        now = self.now()
        if start > end:
            self.fail(400, "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate")
        if start < now - days * DAY_MS:
            self.fail(400, "INVALID_REPLICATION_DATE", "startDate cannot be more than %d days ago" % days)
        # Never claim to cover time that has not passed yet (the next call re-covers this minute).
        return start, end, min(end, now // MINUTE_MS * MINUTE_MS)

    def get_updated(self, req, obj):
        name, _ = self.schema(obj)
        start, end, covered = self.replication_window(req, UPDATED_DAYS)
        ids = [r["Id"] for r in self.store.all(name)
               if not r.get("IsDeleted") and start <= (r.get("SystemModstamp") or 0) < end]
        if len(ids) > REPLICATION_IDS_MAX:
            self.fail(400, "EXCEEDED_ID_LIMIT", "Too many ids: more than %d" % REPLICATION_IDS_MAX)
        return json_response(200, {"ids": ids, "latestDateCovered": sf_datetime(covered)})

    def get_deleted(self, req, obj):
        name, _ = self.schema(obj)
        start, end, covered = self.replication_window(req, DELETED_DAYS)
        now = self.now()
        gone = [r for r in self.store.all(name) if r.get("IsDeleted")
                and (r.get("SystemModstamp") or 0) >= now - DELETED_DAYS * DAY_MS]   # the bin keeps 15 days
        rows = [{"id": r["Id"], "deletedDate": sf_datetime(r["SystemModstamp"])} for r in gone
                if start <= r["SystemModstamp"] < end]
        if len(rows) > REPLICATION_IDS_MAX:
            self.fail(400, "EXCEEDED_ID_LIMIT", "Too many ids: more than %d" % REPLICATION_IDS_MAX)
        earliest = min([r["SystemModstamp"] for r in gone] + [covered]) // MINUTE_MS * MINUTE_MS
        return json_response(200, {"deletedRecords": rows, "earliestDateAvailable": sf_datetime(earliest),
                                   "latestDateCovered": sf_datetime(covered)})

    # ================================================================ records
    def row(self, obj, rec, fields, version=LATEST):
        out = {"attributes": {"type": obj, "url": "/services/data/v%s/sobjects/%s/%s" % (version, obj, rec["Id"])}}
        for f in fields:
            if not isinstance(f, PathField):
                out[f.name] = self.field_json(obj, f, rec)
                continue
            # Parent fields nest under the relationship name; an empty lookup is null.
            node, cur = out, rec
            for ref, pobj in f.steps:
                rel = relationship_name(ref)
                got = self.store.get(cur.get(ref.name)) if cur.get(ref.name) else None
                if got is None:
                    node.setdefault(rel, None)
                    break
                cur = got[1]
                if not isinstance(node.get(rel), dict):
                    node[rel] = {"attributes": {"type": pobj, "url": "/services/data/v%s/sobjects/%s/%s"
                                                % (version, pobj, cur["Id"])}}
                node = node[rel]
            else:
                node[f.leaf.name] = self.field_json(f.steps[-1][1], f.leaf, cur)
        return out

    @staticmethod
    def field_json(obj, f, rec):
        if f.type == "address":
            p = f.name[:-7] if f.name != "Address" else ""
            parts = {k: rec.get(p + k2) for k, k2 in (("street", "Street"), ("city", "City"), ("state", "State"),
                                                        ("postalCode", "PostalCode"), ("country", "Country"))}
            return None if all(v is None for v in parts.values()) else dict(
                parts, countryCode=None, stateCode=None, geocodeAccuracy=None, latitude=None, longitude=None)
        return render(obj, f, rec.get(f.name))

    def live(self, rid, obj=None):
        got = self.store.get(rid) if rid else None
        if got is None or got[1].get("IsDeleted") or (obj and got[0] != obj):
            return None
        return got

    def get_one(self, req, obj, rid):
        name, by = self.schema(obj)
        rid = norm_id(rid)
        got = self.live(rid, name)
        if got is None:
            self.fail(404, "NOT_FOUND", "The requested resource does not exist")
        fs = self.select_fields(name, by, req.args("fields"))
        return json_response(200, self.row(name, got[1], fs, req.ctx["version"]))

    def select_fields(self, name, by, names):
        if not names:
            return self.fields_of(name)
        out = []
        for n in names:
            f = by.get(n.strip().lower())
            if f is None:
                self.fail(400, "INVALID_FIELD", "No such column '%s' on sobject of type %s" % (n, name))
            out.append(f)
        return out

    def get_by_ext(self, req, obj, field, value):
        name, by = self.schema(obj)
        f = by.get(field.lower())
        if f is None or not f.ext:
            self.fail(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: %s" % field)
        hits = [r for r in self.store.all(name) if not r.get("IsDeleted") and r.get(f.name) == value]
        if not hits:
            self.fail(404, "NOT_FOUND", "The requested resource does not exist")
        return json_response(200, self.row(name, hits[0], self.fields_of(name), req.ctx["version"]))

    # -- validation shared by every write path
    def prepare(self, name, by, values, creating, current=None):
        """Checks and converts a record's values; returns the fields to store or raises FieldError."""
        out = {}
        bad = []
        for k, v in values.items():
            if k in ("attributes",) or (k.lower() == "id"):
                continue
            f = by.get(k.lower())
            if f is None:
                raise FieldError("INVALID_FIELD", "No such column '%s' on sobject of type %s" % (k, name), [k])
            if (creating and not f.createable) or (not creating and not f.updateable):
                bad.append(f.name)
                continue
            out[f.name] = coerce(name, f, v, self.store)
        if bad:
            raise FieldError("INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to %s fields: %s. Please check the security "
                             "settings of this field and verify that it is read/write for your profile or "
                             "permission set." % ("create" if creating else "update", ", ".join(bad)), bad)
        if creating:
            missing = [f.name for f in self.fields_of(name)
                       if not f.nillable and f.createable and not f.defaulted and out.get(f.name) in (None, "")]
            if missing:
                raise FieldError("REQUIRED_FIELD_MISSING", "Required fields are missing: [%s]" % ", ".join(missing),
                                 missing)
        for f in self.fields_of(name):
            if f.unique and out.get(f.name) not in (None, ""):
                for other in self.store.all(name):
                    if other is not current and not other.get("IsDeleted") and other.get(f.name) == out[f.name]:
                        raise FieldError("DUPLICATE_VALUE", "duplicate value found: %s duplicates value on record "
                                         "with id: %s" % (f.name, other["Id"]), [f.name])
        if name == "CampaignMember" and creating:
            if not out.get("ContactId") and not out.get("LeadId"):
                raise FieldError("REQUIRED_FIELD_MISSING", "Required fields are missing: [ContactId, LeadId]",
                                 ["ContactId", "LeadId"])
            for m in self.store.all("CampaignMember"):
                if (not m.get("IsDeleted") and m["CampaignId"] == out["CampaignId"]
                        and ((out.get("ContactId") and m.get("ContactId") == out.get("ContactId"))
                             or (out.get("LeadId") and m.get("LeadId") == out.get("LeadId")))):
                    raise FieldError("DUPLICATE_VALUE", "Already a campaign member.", [])
        return out

    def derive(self, name, rec):
        """Values Salesforce computes (read-only fields)."""
        if name in ("Contact", "Lead", "User"):
            rec["Name"] = " ".join(x for x in (rec.get("FirstName"), rec.get("LastName")) if x)
        if name == "Opportunity":
            st = STAGE_INFO.get(str(rec.get("StageName") or "").lower())
            rec["IsClosed"], rec["IsWon"] = (st[1], st[2]) if st else (False, False)
            rec["ForecastCategoryName"] = "Closed" if rec["IsWon"] else "Omitted" if rec["IsClosed"] else "Pipeline"
            if rec.get("Probability") is None and st:
                rec["Probability"] = float(st[3])
        if name == "Lead" and rec.get("Status") is None:
            rec["Status"] = LEAD_STATUS[0][0]
        if name == "CampaignMember":
            rec.setdefault("Status", "Sent")
            rec.setdefault("HasResponded", False)
            self.count_members(rec.get("CampaignId"))

    def count_members(self, cid):
        got = self.store.get(cid) if cid else None
        if got is None:
            return
        ms = [m for m in self.store.all("CampaignMember") if m["CampaignId"] == cid and not m.get("IsDeleted")]
        got[1]["NumberOfContacts"] = sum(1 for m in ms if m.get("ContactId"))
        got[1]["NumberOfLeads"] = sum(1 for m in ms if m.get("LeadId"))

    def do_create(self, name, by, values):
        if name in READ_ONLY:
            # What Salesforce answers for an object no one may insert.
            raise FieldError("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "entity type cannot be inserted: %s"
                             % SCHEMA[name][1][:-1], [])
        data = self.prepare(name, by, values, True)
        now = self.stamp()
        rec = {f.name: None for f in self.fields_of(name) if f.type != "address"}
        rec.update({"Id": self.store.new_id(name), "IsDeleted": False, "CreatedDate": now, "CreatedById": API_USER,
                    "LastModifiedDate": now, "LastModifiedById": API_USER, "SystemModstamp": now})
        for f in self.fields_of(name):
            if f.type == "boolean":
                rec[f.name] = False
        if "OwnerId" in rec:
            rec["OwnerId"] = API_USER
        if self.multi_currency:
            rec["CurrencyIsoCode"] = "EUR"
        rec.update(data)
        self.store.put(name, rec)
        self.derive(name, rec)
        return rec

    def do_update(self, name, by, rec, values):
        data = self.prepare(name, by, values, False, rec)
        rec.update(data)
        rec["LastModifiedDate"] = rec["SystemModstamp"] = self.stamp()
        self.derive(name, rec)
        return rec

    def do_delete(self, rid):
        got = self.store.get(rid)
        if got is None:
            raise FieldError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])  # unverified
        name, rec = got
        if rec.get("IsDeleted"):
            raise FieldError("ENTITY_IS_DELETED", "entity is deleted", [])
        if name in ("User",) + READ_ONLY:
            raise FieldError("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id", [])
        # §5: to the Recycle Bin; queryAll still sees it.  Deletion bumps SystemModstamp (unverified).
        rec["IsDeleted"] = True
        rec["LastModifiedDate"] = rec["SystemModstamp"] = self.stamp()
        if name == "CampaignMember":
            self.count_members(rec.get("CampaignId"))
        return rec

    def create_one(self, req, obj):
        name, by = self.schema(obj)
        body = self.body(req)
        if not isinstance(body, dict):
            self.fail(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from START_ARRAY value")
        try:
            rec = self.do_create(name, by, body)
        except FieldError as e:
            return json_response(400, [e.item("errorCode")])
        return json_response(201, {"id": rec["Id"], "success": True, "errors": []})

    def update_one(self, req, obj, rid):
        name, by = self.schema(obj)
        body = self.body(req)
        got = self.store.get(norm_id(rid) or "")
        if got is None or got[0] != name:
            self.fail(404, "NOT_FOUND", "The requested resource does not exist")
        if got[1].get("IsDeleted"):
            self.fail(404, "ENTITY_IS_DELETED", "entity is deleted")
        try:
            self.do_update(name, by, got[1], body)
        except FieldError as e:
            return json_response(400, [e.item("errorCode")])
        return empty_response(204)

    def delete_one(self, req, obj, rid):
        name, _ = self.schema(obj)
        got = self.store.get(norm_id(rid) or "")
        if got is None or got[0] != name:
            self.fail(404, "NOT_FOUND", "The requested resource does not exist")
        try:
            self.do_delete(got[1]["Id"])
        except FieldError as e:
            return json_response(404 if e.code == "ENTITY_IS_DELETED" else 400, [e.item("errorCode")])
        return empty_response(204)

    def upsert_match(self, name, f, value):
        return [r for r in self.store.all(name) if not r.get("IsDeleted") and r.get(f.name) is not None
                and str(r.get(f.name)).lower() == str(value).lower()]

    def upsert_one(self, req, obj, field, value):
        name, by = self.schema(obj)
        f = by.get(field.lower())
        if f is None or not (f.ext or f.name == "Id"):
            self.fail(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: %s" % field)
        body = self.body(req)
        hits = self.upsert_match(name, f, value)
        try:
            if len(hits) > 1:
                return json_response(300, ["/services/data/v%s/sobjects/%s/%s" % (req.ctx["version"], name, h["Id"])
                                           for h in hits])
            if hits:
                self.do_update(name, by, hits[0], body)
                return json_response(200, {"id": hits[0]["Id"], "success": True, "errors": [], "created": False})
            rec = self.do_create(name, by, dict(body, **{f.name: value}))
        except FieldError as e:
            return json_response(400, [e.item("errorCode")])
        return json_response(201, {"id": rec["Id"], "success": True, "errors": [], "created": True})

    # ================================================================ collections (§6)
    def coll_records(self, req):
        body = self.body(req)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            self.fail(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of the request: 'records' is required")
        recs = body["records"]
        if len(recs) > COLLECTION_MAX:
            # unverified code for too many records
            self.fail(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than %d records into "
                      "this call" % COLLECTION_MAX)
        return recs, bool(body.get("allOrNone"))

    def run_collection(self, recs, all_or_none, fn):
        """Runs fn(record) -> result per record; allOrNone rolls everything back on a failure."""
        snapshot = self.store.copy() if all_or_none else None
        results = []
        for r in recs:
            try:
                results.append(fn(r))
            except FieldError as e:
                results.append({"id": None, "success": False, "errors": [e.item()]})
            except (AttributeError, TypeError, KeyError) as e:
                results.append({"id": None, "success": False, "errors": [
                    {"statusCode": "INVALID_FIELD", "message": "bad record: %s" % e, "fields": []}]})
        if all_or_none and any(not x["success"] for x in results):
            self.store = snapshot
            for x in results:
                if x["success"]:
                    x.update({"id": None, "success": False, "created": None})
                    x["errors"] = [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                    "message": "Record rolled back because not all records were valid and the "
                                               "request was using AllOrNone header", "fields": []}]
                    x.pop("created", None)
        return json_response(200, results)

    def rec_type(self, r):
        t = (r.get("attributes") or {}).get("type") if isinstance(r, dict) else None
        if not t:
            raise FieldError("INVALID_TYPE", "Must send a concrete entity type.", [])
        for k in SCHEMA:
            if k.lower() == t.lower():
                return k, {f.name.lower(): f for f in self.fields_of(k)}
        raise FieldError("INVALID_TYPE", "sObject type '%s' is not supported." % t, [])

    def coll_create(self, req):
        recs, aon = self.coll_records(req)

        def one(r):
            name, by = self.rec_type(r)
            if r.get("id") or r.get("Id"):
                raise FieldError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            rec = self.do_create(name, by, r)
            return {"id": rec["Id"], "success": True, "errors": []}
        return self.run_collection(recs, aon, one)

    def coll_update(self, req):
        recs, aon = self.coll_records(req)

        def one(r):
            name, by = self.rec_type(r)
            rid = norm_id(r.get("id") or r.get("Id"))
            if rid is None:
                raise FieldError("MISSING_ARGUMENT", "Id not specified in an update call", [])
            got = self.store.get(rid)
            if got is None or got[0] != name:
                raise FieldError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])  # unverified
            if got[1].get("IsDeleted"):
                raise FieldError("ENTITY_IS_DELETED", "entity is deleted", [])
            self.do_update(name, by, got[1], r)
            return {"id": rid, "success": True, "errors": []}
        return self.run_collection(recs, aon, lambda r: self._keep_id(one, r))

    @staticmethod
    def _keep_id(fn, r):
        try:
            return fn(r)
        except FieldError as e:
            return {"id": r.get("id") if isinstance(r, dict) else None, "success": False, "errors": [e.item()]}

    def coll_upsert(self, req, obj, field):
        name, by = self.schema(obj)
        f = by.get(field.lower())
        if f is None or not f.ext:
            self.fail(400, "INVALID_FIELD", "Field name provided, %s is not an External ID or indexed field for %s"
                      % (field, name))
        recs, aon = self.coll_records(req)

        def one(r):
            t, _ = self.rec_type(r)
            if t != name:
                raise FieldError("INVALID_TYPE", "all records must be of type %s" % name, [])
            value = r.get(f.name, r.get(field))
            if value in (None, ""):
                raise FieldError("MISSING_ARGUMENT", "%s not specified" % f.name, [f.name])  # unverified
            hits = self.upsert_match(name, f, value)
            if len(hits) > 1:
                raise FieldError("DUPLICATE_EXTERNAL_ID", "%s: more than one record found for external id field: %s"
                                 % (f.name, value), [f.name])
            if hits:
                self.do_update(name, by, hits[0], r)
                return {"id": hits[0]["Id"], "success": True, "errors": [], "created": False}
            rec = self.do_create(name, by, r)
            return {"id": rec["Id"], "success": True, "errors": [], "created": True}
        return self.run_collection(recs, aon, one)

    def coll_delete(self, req):
        ids = req.args("ids")
        if not ids:
            self.fail(400, "MISSING_ARGUMENT", "ids parameter is required")
        if len(ids) > COLLECTION_MAX:
            self.fail(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than %d records into this "
                      "call" % COLLECTION_MAX)
        aon = req.flag("allOrNone")

        def one(i):
            rid = norm_id(i)
            if rid is None:
                return {"id": i, "success": False, "errors": [{"statusCode": "MALFORMED_ID",
                        "message": "malformed id %s" % i, "fields": []}]}
            try:
                self.do_delete(rid)
            except FieldError as e:
                return {"id": rid, "success": False, "errors": [e.item()]}
            return {"id": rid, "success": True, "errors": []}
        return self.run_collection(ids, aon, one)

    def coll_retrieve(self, req, obj):
        name, by = self.schema(obj)
        if req.method == "POST":
            body = self.body(req)
            ids, names = body.get("ids") or [], body.get("fields") or []
        else:
            ids, names = req.args("ids"), req.args("fields")
        if not names:
            self.fail(400, "MISSING_ARGUMENT", "fields parameter is required")
        if len(ids) > RETRIEVE_MAX:
            self.fail(400, "EXCEEDED_ID_LIMIT", "too many ids")
        fs = self.select_fields(name, by, names)
        out = []
        for i in ids:
            got = self.live(norm_id(i), name)
            out.append(self.row(name, got[1], fs, req.ctx["version"]) if got else None)
        return json_response(200, out)

    # ================================================================ SOQL endpoints (§3, §5)
    def run_query(self, text, all_rows):
        q = Query(text, self.soql_schema)
        q.store = self.store
        rows = []
        for r in self.store.all(q.obj):
            if r.get("IsDeleted") and not all_rows:
                continue
            if q.where is None or q.test(q.where, r):
                rows.append(r)
        if q.order:
            rows = q.sort(rows)
        rows = rows[q.offset:]
        if q.limit is not None:
            rows = rows[:q.limit]
        return q, rows

    def batch_size(self, req):
        opt = req.header("Sforce-Query-Options") or ""
        m = re.search(r"batchSize\s*=\s*(\d+)", opt)
        if not m:
            return QUERY_BATCH_DEFAULT
        return max(QUERY_BATCH_MIN, min(QUERY_BATCH_DEFAULT, int(m.group(1))))

    def query_first(self, req, all_rows=False):
        text = req.arg("q")
        if not text:
            self.fail(400, "MALFORMED_QUERY", "A query string has to be specified")
        q, rows = self.run_query(text, all_rows)
        if q.count:
            return json_response(200, {"totalSize": len(rows), "done": True, "records": []})
        self.cursor_seq += 1
        loc = "01g%s%08d" % (ORG_ID[3:8], self.cursor_seq)   # no '/' in locators (§14)
        cur = {"obj": q.obj, "ids": [r["Id"] for r in rows], "fields": q.fields, "size": self.batch_size(req),
               "all": all_rows}
        self.cursors[loc] = cur
        while len(self.cursors) > CURSORS_MAX:
            self.cursors.pop(next(iter(self.cursors)))
        return self.page(req, loc, cur, 0)

    def query_all_first(self, req):
        return self.query_first(req, True)

    def query_more(self, req, locator):
        loc, _, off = locator.rpartition("-")
        cur = self.cursors.get(loc)
        if cur is None or not off.isdigit():
            self.fail(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self.page(req, loc, cur, int(off))

    def page(self, req, loc, cur, off):
        ids = cur["ids"][off:off + cur["size"]]
        recs = []
        for i in ids:
            got = self.store.get(i)
            if got:
                recs.append(self.row(cur["obj"], got[1], cur["fields"], req.ctx["version"]))
        nxt = off + len(ids)
        body = {"totalSize": len(cur["ids"]), "done": nxt >= len(cur["ids"]), "records": recs}
        if not body["done"]:
            body["nextRecordsUrl"] = "/services/data/v%s/query/%s-%d" % (req.ctx["version"], loc, nxt)
        else:
            self.cursors.pop(loc, None)
        return json_response(200, body)

    # ================================================================ Bulk API 2.0 (§3, §6)
    def new_job(self, kind, body, extra):
        self.job_seq += 1
        jid = make_id("750", self.job_seq)
        now = sf_datetime(self.now())
        job = {"id": jid, "operation": body.get("operation"), "object": extra.get("object"),
               "createdById": API_USER, "createdDate": now, "systemModstamp": now, "state": extra["state"],
               "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": float(LATEST),
               "lineEnding": body.get("lineEnding") or "LF", "columnDelimiter": body.get("columnDelimiter") or "COMMA"}
        self.jobs[jid] = {"kind": kind, "job": job, "polls": 0}
        return self.jobs[jid]

    def job_of(self, jid, kind):
        j = self.jobs.get(jid)
        if j is None or j["kind"] != kind:
            self.fail(404, "NOT_FOUND", "The requested resource does not exist")
        return j

    def qjob_create(self, req):
        body = self.body(req)
        op = body.get("operation")
        if op not in ("query", "queryAll"):
            self.fail(400, "INVALIDJOB", "Invalid operation: %s" % op)  # unverified code
        if (body.get("contentType") or "CSV") != "CSV" or (body.get("columnDelimiter") or "COMMA") != "COMMA":
            self.fail(400, "INVALIDJOB", "only CSV with COMMA is emulated")
        q, rows = self.run_query(body.get("query") or "", op == "queryAll")
        if any(f.type == "address" for f in q.fields):
            self.fail(400, "API_ERROR", "Selecting compound data not supported in Bulk Query")
        if q.offset:
            self.fail(400, "API_ERROR", "OFFSET is not supported in Bulk Query")
        j = self.new_job("query", body, {"object": q.obj, "state": "UploadComplete"})
        j["obj"], j["fields"], j["ids"] = q.obj, q.fields, [r["Id"] for r in rows]
        j["job"]["query"] = body.get("query")
        return json_response(200, j["job"])

    def qjob_list(self, req):
        return json_response(200, {"done": True, "records": [j["job"] for j in self.jobs.values() if j["kind"] == "query"],
                                   "nextRecordsUrl": None})

    def advance(self, j):
        """A job runs on the server: the first poll sees it InProgress, the next one done."""
        job = j["job"]
        if job["state"] in ("UploadComplete", "InProgress"):
            j["polls"] += 1
            job["state"] = "InProgress" if j["polls"] < 2 else "JobComplete"
            if job["state"] == "JobComplete" and j["kind"] == "query":
                job["numberRecordsProcessed"] = len(j["ids"])
            job["systemModstamp"] = sf_datetime(self.now())

    def qjob_get(self, req, jid):
        j = self.job_of(jid, "query")
        self.advance(j)
        out = dict(j["job"])
        out.setdefault("numberRecordsProcessed", 0)
        out.update({"retries": 0, "totalProcessingTime": 12, "isPkChunkingSupported": True})
        return json_response(200, out)

    def qjob_results(self, req, jid):
        j = self.job_of(jid, "query")
        if j["job"]["state"] != "JobComplete":
            self.fail(400, "API_ERROR", "Job is not complete: %s" % j["job"]["state"])   # unverified
        try:
            start = int(req.arg("locator") or "0", 36) if req.arg("locator") else 0
        except ValueError:
            self.fail(400, "INVALIDLOCATOR", "Invalid locator")
        n = int(req.arg("maxRecords") or BULK_RESULTS_DEFAULT)
        ids = j["ids"][start:start + max(1, n)]
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
        w.writerow([f.name for f in j["fields"]])
        for i in ids:
            got = self.store.get(i)
            rec = got[1] if got else {}
            w.writerow([render(j["obj"], f, field_value(f, rec, self.store), bulk=True) for f in j["fields"]])
        end = start + len(ids)
        loc = "null" if end >= len(j["ids"]) else _b36(end)
        return raw_response(200, buf.getvalue(), CSV_TYPE, [("Sforce-Locator", loc),
                                                           ("Sforce-NumberOfRecords", str(len(ids)))])

    def job_patch(self, req, jid):
        j = self.jobs.get(jid)
        if j is None:
            self.fail(404, "NOT_FOUND", "The requested resource does not exist")
        state = (self.body(req) or {}).get("state")
        job = j["job"]
        if state == "Aborted":
            job["state"] = "Aborted"
        elif state == "UploadComplete" and j["kind"] == "ingest":
            if job["state"] != "Open":
                self.fail(400, "INVALIDJOB", "Job is not in Open state")   # unverified
            job["state"] = "UploadComplete"
            self.run_ingest(j)
        else:
            self.fail(400, "INVALIDJOB", "Invalid state change: %s" % state)
        return json_response(200, job)

    def job_delete(self, req, jid):
        if self.jobs.pop(jid, None) is None:
            self.fail(404, "NOT_FOUND", "The requested resource does not exist")
        return empty_response(204)

    def ijob_create(self, req):
        body = self.body(req)
        name, by = self.schema(body.get("object") or "")
        op = body.get("operation")
        if op not in ("insert", "update", "upsert", "delete", "hardDelete"):
            self.fail(400, "INVALIDJOB", "Invalid operation: %s" % op)
        ext = body.get("externalIdFieldName")
        if op == "upsert":
            f = by.get(str(ext).lower())
            if f is None or not (f.ext or f.name == "Id"):
                self.fail(400, "INVALIDJOB", "External ID was blank or invalid for upsert")
        j = self.new_job("ingest", body, {"object": name, "state": "Open"})
        if ext:
            j["job"]["externalIdFieldName"] = ext
        j["job"]["contentUrl"] = "services/data/v%s/jobs/ingest/%s/batches" % (req.ctx["version"], j["job"]["id"])
        j["data"] = []
        j["ok"], j["failed"], j["header"] = [], [], None
        return json_response(200, j["job"])

    def ijob_upload(self, req, jid):
        j = self.job_of(jid, "ingest")
        if j["job"]["state"] != "Open":
            self.fail(400, "INVALIDJOB", "Job is not in Open state")
        if "csv" not in (req.header("Content-Type") or "").lower():
            self.fail(415, "UNSUPPORTED_MEDIA_TYPE", "Content type not supported")
        text = req.body.decode("utf-8").replace("\x00", "")
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            self.fail(400, "INVALIDJOB", "No content")
        if j["header"] is None:
            j["header"] = rows[0]
        elif rows[0] != j["header"]:
            self.fail(400, "INVALIDJOB", "Column headers differ between uploads")
        j["data"].extend(rows[1:])
        return empty_response(201)

    def run_ingest(self, j):
        job = j["job"]
        name, by = self.schema(job["object"])
        hdr = j["header"] or []
        op = job["operation"]
        for row in j["data"]:
            vals = dict(zip(hdr, row))
            # BULK: a blank cell leaves the field unchanged; "#N/A" sets null.
            send = {k: (None if v == "#N/A" else v) for k, v in vals.items() if v != ""}
            try:
                if op == "insert":
                    rec, created = self.do_create(name, by, send), True
                elif op in ("update", "delete", "hardDelete"):
                    rid = norm_id(vals.get("Id") or vals.get("id") or "")
                    if rid is None:
                        raise FieldError("MALFORMED_ID", "bad id %s" % (vals.get("Id") or ""), ["Id"])
                    if op != "update":
                        rec, created = self.do_delete(rid), False
                    else:
                        got = self.store.get(rid)
                        if got is None or got[0] != name:
                            raise FieldError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
                        if got[1].get("IsDeleted"):
                            raise FieldError("ENTITY_IS_DELETED", "entity is deleted", [])
                        send.pop("Id", None)
                        rec, created = self.do_update(name, by, got[1], send), False
                else:
                    f = by[job["externalIdFieldName"].lower()]
                    hits = self.upsert_match(name, f, vals.get(job["externalIdFieldName"], ""))
                    if len(hits) > 1:
                        raise FieldError("DUPLICATE_EXTERNAL_ID", "more than one record found for external id", [])
                    if hits:
                        rec, created = self.do_update(name, by, hits[0], send), False
                    else:
                        rec, created = self.do_create(name, by, send), True
                j["ok"].append([rec["Id"], "true" if created else "false"] + row)
            except FieldError as e:
                j["failed"].append(["", "%s:%s:%s --" % (e.code, e.message, ",".join(e.fields))] + row)
        job["numberRecordsProcessed"] = len(j["data"])
        job["numberRecordsFailed"] = len(j["failed"])

    def ijob_get(self, req, jid):
        j = self.job_of(jid, "ingest")
        self.advance(j)
        out = dict(j["job"])
        out.setdefault("numberRecordsProcessed", 0)
        out.setdefault("numberRecordsFailed", 0)
        out.update({"retries": 0, "totalProcessingTime": 20, "apiActiveProcessingTime": 10})
        return json_response(200, out)

    def results_csv(self, j, head, rows):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
        w.writerow(head + (j["header"] or []))
        # BULK: result rows do not come in upload order; emulate that by reversing.
        for r in reversed(rows):
            w.writerow(r)
        return raw_response(200, buf.getvalue(), CSV_TYPE)

    def ijob_success(self, req, jid):
        j = self.job_of(jid, "ingest")
        return self.results_csv(j, ["sf__Id", "sf__Created"], j["ok"] if j["job"]["state"] == "JobComplete" else [])

    def ijob_failed(self, req, jid):
        j = self.job_of(jid, "ingest")
        return self.results_csv(j, ["sf__Id", "sf__Error"], j["failed"] if j["job"]["state"] == "JobComplete" else [])

    def ijob_unprocessed(self, req, jid):
        j = self.job_of(jid, "ingest")
        rows = [] if j["job"]["state"] in ("JobComplete", "Failed") else j["data"]
        return self.results_csv(j, [], rows)


def _b36(n):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    while True:
        n, r = divmod(n, 36)
        s = digits[r] + s
        if n == 0:
            return s


def create(options):
    return Salesforce(options)
