"""SugarCRM (REST v11) emulator for crmsync.

Speaks the wire protocol of ../../../shared/api/sugarcrm.md (section numbers
below refer to it): the password and refresh_token grants of /oauth2/token
with rotating refresh tokens and one session per user and platform, the
OAuth-Token header, the filter API with max_num/offset/next_offset, the
filter grammar the client sends, soft deletes seen through deleted:true,
create/update/delete per record, the Integrate API's sync_key upsert (admin
only), /bulk with per-request sub-results, module metadata and language
strings, /me and server info, Target Lists with their contacts link, and
Sugar's {"error", "error_message"} envelope.  Facts marked "unverified" are
choices where sugarcrm.md is silent or unsure.

Datetimes are stored as epoch ms (second precision, as Sugar's DB) and
rendered in the API user's UTC offset (§2.1, §2.3).
"""

import datetime as _dt
import json
import re
import secrets
import sys
import threading
import traceback

import core
from core import HttpError, BadJson, Fake, Router, json_response, parse_time, ascii_slug

# ====================================================================== facts

API_MAX = (11, 24)                 # 14.0: v11_24 (§13)
SITE_ID = "SUGAR-7c1e52d8-crmsync-demo"
PLATFORMS = {"base", "mobile", "portal", "crmsync"}   # crmsync: registered by the admin (§12.1)
ACCESS_TTL_S, REFRESH_TTL_S = 3600, 1209600
MAX_LIST_LIMIT = 1000              # SugarCloud's reported cap (unverified); max_num above it becomes it
DEFAULT_MAX_NUM = 20
USER_TZ = "Asia/Kolkata"
USER_OFFSET_S = 5 * 3600 + 1800    # +05:30, no DST: every datetime on the wire carries it

T = core.parse_time
CREATED_RANGE = (T("2025-01-01T00:00:00Z"), T("2025-12-31T23:59:59Z"))
UPDATED_RANGE = (T("2026-01-05T00:00:00Z"), T("2026-09-30T23:59:59Z"))

SALES_STAGES = [("Prospecting", 10), ("Qualification", 20), ("Needs Analysis", 25),
                ("Value Proposition", 30), ("Id. Decision Makers", 40), ("Perception Analysis", 50),
                ("Proposal/Price Quote", 65), ("Negotiation/Review", 80), ("Closed Won", 100),
                ("Closed Lost", 0)]
INDUSTRIES = ["Apparel", "Banking", "Biotechnology", "Chemicals", "Communications", "Construction",
              "Consulting", "Education", "Electronics", "Energy", "Engineering", "Finance",
              "Government", "Healthcare", "Insurance", "Machinery", "Manufacturing", "Media",
              "Retail", "Technology", "Transportation", "Other"]
LEAD_STATUS = ["New", "Assigned", "In Process", "Converted", "Recycled", "Dead"]
LEAD_SOURCE = ["Cold Call", "Existing Customer", "Self Generated", "Employee", "Partner",
               "Public Relations", "Direct Mail", "Conference", "Trade Show", "Web Site",
               "Word of mouth", "Email", "Campaign", "Other"]
COLOURS = ["teal", "red", "green", "blue", "ochre"]
LIST_TYPES = ["default", "seed", "exempt_domain", "exempt_address", "exempt", "test"]

# app_list_strings (§15): each dropdown is {key: label}, "" first, in display
# order.  Records store the key; writes and filters use it.  Stock en_us has
# key == label for these lists; this instance carries two Studio edits an
# admin made (Studio keeps the key, changes the label), so that key and label
# differ somewhere: the stage key "Id. Decision Makers" shows as "Identifying
# Decision Makers" (SuiteCRM's label for it), the industry key "Not For
# Profit" as "Non-Profit".  Seed data picks from the lists above (keys).
STOCK_INDUSTRIES = ["Apparel", "Banking", "Biotechnology", "Chemicals", "Communications", "Construction",
                    "Consulting", "Education", "Electronics", "Energy", "Engineering", "Entertainment",
                    "Environmental", "Finance", "Government", "Healthcare", "Hospitality", "Insurance",
                    "Machinery", "Manufacturing", "Media", "Not For Profit", "Recreation", "Retail",
                    "Shipping", "Technology", "Telecommunications", "Transportation", "Utilities", "Other"]
STUDIO_LABELS = {"sales_stage_dom": {"Id. Decision Makers": "Identifying Decision Makers"},
                 "industry_dom": {"Not For Profit": "Non-Profit"}}
_LISTS = {"industry_dom": STOCK_INDUSTRIES, "sales_stage_dom": [s for s, _ in SALES_STAGES],
          "lead_status_dom": LEAD_STATUS, "lead_source_dom": LEAD_SOURCE,
          "account_type_dom": ["Analyst", "Competitor", "Customer", "Integrator", "Investor", "Partner",
                               "Press", "Prospect", "Reseller", "Other"],
          "colour_c_list": COLOURS, "region_c_list": ["EMEA", "AMER", "APAC"],
          "prospect_list_type_dom": LIST_TYPES, "user_status_dom": ["Active", "Inactive"],
          "salutation_dom": ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."],
          "opportunity_type_dom": ["Existing Business", "New Business"],
          "sales_status_dom": ["New", "In Progress", "Closed Won", "Closed Lost"]}
DOMS = {dom: dict([("", "")] + [(k, STUDIO_LABELS.get(dom, {}).get(k, k)) for k in keys])
        for dom, keys in _LISTS.items()}
# The stage defaults of probability, percent, keyed by stage (§15: 10 20 25 30
# 40 50 65 80 100 0); Sugar's lists hold strings.
DOMS["sales_probability_dom"] = dict([("", "")] + [(k, str(v)) for k, v in SALES_STAGES])


def F(name, ftype, label, **kw):
    d = {"name": name, "vname": "LBL_" + name.upper(), "type": ftype}
    d.update(kw)
    return d, label


def _addr(prefix, what):
    parts = [("street", "Street"), ("street_2", "Street 2"), ("city", "City"), ("state", "State"),
             ("postalcode", "Postal Code"), ("country", "Country")]
    return [F("%s_address_%s" % (prefix, p), "varchar", "%s %s" % (what, lbl), len=150) for p, lbl in parts]


COMMON = [
    F("id", "id", "ID", readonly=True), F("name", "name", "Name", len=255),
    F("date_entered", "datetime", "Date Created", readonly=True),
    F("date_modified", "datetime", "Date Modified", readonly=True),
    F("modified_user_id", "id", "Modified By Id", readonly=True),
    F("modified_by_name", "relate", "Modified By", source="non-db", id_name="modified_user_id"),
    F("created_by", "id", "Created By Id", readonly=True),
    F("created_by_name", "relate", "Created By", source="non-db", id_name="created_by"),
    F("description", "text", "Description"), F("deleted", "bool", "Deleted"),
    F("assigned_user_id", "id", "Assigned User Id"),
    F("assigned_user_name", "relate", "Assigned to", source="non-db", id_name="assigned_user_id"),
    F("team_name", "teamset", "Teams", source="non-db"),
    F("sync_key", "varchar", "Sync Key", len=100),
    F("tag", "tag", "Tags", source="non-db"),
    F("following", "bool", "Following", source="non-db"),
    F("my_favorite", "bool", "Favorite", source="non-db"),
    F("email_addresses", "link", "Email Addresses", source="non-db", link=True),
]
PERSON = [
    F("salutation", "enum", "Salutation", options="salutation_dom"),
    F("first_name", "varchar", "First Name", len=100), F("last_name", "varchar", "Last Name", len=100,
                                                         required=True),
    F("full_name", "fullname", "Full Name", source="non-db"),
    F("title", "varchar", "Title", len=100), F("department", "varchar", "Department", len=255),
    F("phone_home", "phone", "Home Phone"), F("phone_mobile", "phone", "Mobile"),
    F("phone_work", "phone", "Office Phone"), F("phone_other", "phone", "Other Phone"),
    F("phone_fax", "phone", "Fax"),
    F("email", "email", "Any Email", source="non-db"),
    F("email1", "varchar", "Email Address", source="non-db"),
    F("email2", "varchar", "Other Email Address", source="non-db"),
    F("do_not_call", "bool", "Do Not Call"),
    F("lead_source", "enum", "Lead Source", options="lead_source_dom"),
] + _addr("primary", "Primary Address") + _addr("alt", "Alternate Address")
MODULE_FIELDS = {
    "Accounts": COMMON + [
        F("account_type", "enum", "Type", options="account_type_dom"),
        F("industry", "enum", "Industry", options="industry_dom"),
        F("annual_revenue", "varchar", "Annual Revenue"), F("employees", "varchar", "Employees", len=10),
        F("website", "url", "Website"), F("phone_office", "phone", "Office Phone"),
        F("phone_alternate", "phone", "Alternate Phone"), F("phone_fax", "phone", "Fax"),
        F("duns_num", "varchar", "DUNS"), F("parent_id", "id", "Member of Id"),
        F("email", "email", "Any Email", source="non-db"),
        F("email1", "varchar", "Email Address", source="non-db"),
        F("region_c", "enum", "Sales region", options="region_c_list", source="custom_fields"),
        F("tier_c", "varchar", "Tier", source="custom_fields", len=20),
    ] + _addr("billing", "Billing") + _addr("shipping", "Shipping"),
    "Contacts": COMMON + PERSON + [
        F("account_id", "relate", "Account ID", source="non-db", id_name="account_id", module="Accounts",
          save=True),
        F("account_name", "relate", "Account Name", source="non-db", id_name="account_id",
          module="Accounts"),
        F("birthdate", "date", "Birthdate"),
        F("favourite_colour_c", "enum", "Favourite colour", options="colour_c_list", source="custom_fields"),
        F("loyalty_tier_c", "varchar", "Loyalty tier", source="custom_fields", len=50),
    ],
    "Leads": COMMON + PERSON + [
        F("account_name", "varchar", "Account Name", len=255),
        F("status", "enum", "Status", options="lead_status_dom"),
        F("converted", "bool", "Converted"), F("contact_id", "id", "Contact ID"),
        F("account_id", "id", "Account ID"), F("opportunity_id", "id", "Opportunity ID"),
        F("website", "url", "Website"),
        F("score_c", "int", "Lead score", source="custom_fields"),
    ],
    "Opportunities": COMMON + [
        F("amount", "currency", "Opportunity Amount", required=True),
        F("amount_usdollar", "currency", "Amount", readonly=True, calculated=True),
        F("currency_id", "currency_id", "Currency"), F("base_rate", "decimal", "Currency Rate"),
        F("sales_stage", "enum", "Sales Stage", options="sales_stage_dom"),
        # §15: calculated and enforced from the stage; Opportunities-only mode
        # does not lift that, so the server recomputes it on save.
        F("probability", "int", "Probability (%)", calculated=True, enforced=True,
          formula='getDropdownValue("sales_probability_dom",$sales_stage)', validation={"min": 0, "max": 100}),
        F("date_closed", "date", "Expected Close Date", required=True),
        F("opportunity_type", "enum", "Type", options="opportunity_type_dom"),
        F("next_step", "varchar", "Next Step"),
        F("lead_source", "enum", "Lead Source", options="lead_source_dom"),
        F("account_id", "relate", "Account ID", source="non-db", id_name="account_id", module="Accounts"),
        F("account_name", "relate", "Account Name", source="non-db", id_name="account_id",
          module="Accounts"),
        F("accounts", "link", "Accounts", source="non-db"),
        F("sales_status", "enum", "Sales Status", readonly=True),
        F("deal_source_c", "enum", "Deal source", options="lead_source_dom", source="custom_fields"),
    ],
    "Users": [
        F("id", "id", "ID", readonly=True), F("user_name", "user_name", "User Name"),
        F("first_name", "varchar", "First Name"), F("last_name", "varchar", "Last Name"),
        F("full_name", "fullname", "Full Name", source="non-db"),
        F("date_entered", "datetime", "Date Created", readonly=True),
        F("date_modified", "datetime", "Date Modified", readonly=True),
        F("title", "varchar", "Title"), F("department", "varchar", "Department"),
        F("phone_work", "phone", "Work Phone"), F("is_admin", "bool", "Is Administrator"),
        F("status", "enum", "Status", options="user_status_dom"),
        F("employee_status", "varchar", "Employee Status"),
        F("is_group", "bool", "Group User"), F("portal_only", "bool", "Portal Only User"),
        F("email", "email", "Any Email", source="non-db"),
        F("email1", "varchar", "Email Address", source="non-db"),
        F("deleted", "bool", "Deleted"),
    ],
    "ProspectLists": [
        F("id", "id", "ID", readonly=True), F("name", "name", "Name"),
        F("date_entered", "datetime", "Date Created", readonly=True),
        F("date_modified", "datetime", "Date Modified", readonly=True),
        F("description", "text", "Description"), F("list_type", "enum", "Type", options="prospect_list_type_dom"),
        F("domain_name", "varchar", "Domain Name"), F("assigned_user_id", "id", "Assigned User Id"),
        F("deleted", "bool", "Deleted"), F("contacts", "link", "Contacts", source="non-db"),
    ],
}
VARDEFS = {m: {d["name"]: d for d, _ in fs} for m, fs in MODULE_FIELDS.items()}
# Vardef defaults a create takes for omitted fields (§15).
CREATE_DEFAULTS = {"Opportunities": {"sales_stage": "Prospecting", "currency_id": "-99"},
                   "Leads": {"status": "New"}}
LABELS = {m: {d["vname"]: lbl + ":" for d, lbl in fs} for m, fs in MODULE_FIELDS.items()}
PERSON_MODULES = {"Contacts", "Leads", "Users"}
EMAIL_MODULES = {"Contacts", "Leads", "Users", "Accounts"}
WRITABLE = {"Accounts", "Contacts", "Leads", "Opportunities", "ProspectLists"}
# The filter API always selects these (FilterApi::$mandatory_fields).
MANDATORY = ("id", "date_modified", "assigned_user_id", "created_by", "locked_fields")
NON_STORED = {"id", "date_entered", "date_modified", "deleted", "email", "email1", "email2", "full_name",
              "modified_by_name", "created_by_name", "assigned_user_name", "team_name", "following",
              "my_favorite", "account_name_rel", "amount_usdollar", "_acl", "_module", "locked_fields",
              "email_addresses"}
EMAIL_RX = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
OPERATORS = {"$equals", "$not_equals", "$starts", "$ends", "$contains", "$not_contains", "$in", "$not_in",
             "$is_null", "$not_null", "$empty", "$not_empty", "$lt", "$lte", "$gt", "$gte", "$between",
             "$dateBetween"}


def wire_time(ms):
    """Epoch ms -> ISO-8601 in the API user's offset, second precision (§2.1)."""
    tz = _dt.timezone(_dt.timedelta(seconds=USER_OFFSET_S))
    return _dt.datetime.fromtimestamp(ms // 1000, tz).isoformat()


def new_id(rng=None):
    if rng is None:
        return core.new_uuid()
    return "%08x-%04x-4%03x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                                           0x8000 | rng.getrandbits(14), rng.getrandbits(48))


class SugarError(Exception):
    def __init__(self, status, label, message, **extra):
        super().__init__(message)
        self.status, self.label, self.message, self.extra = status, label, message, extra


def err_response(status, label, message, **extra):
    body = {"error": label, "error_message": message}
    body.update(extra)
    return json_response(status, body, [("Cache-Control", "no-store")])


class Rec:
    """One stored row: fields (provider names), emails, times in ms, soft-delete flag."""
    __slots__ = ("id", "f", "emails", "created", "modified", "deleted", "links")

    def __init__(self, rid, fields, created, modified, emails=None, deleted=False):
        self.id, self.f, self.created, self.modified = rid, fields, created, modified
        self.emails = emails or []
        self.deleted = deleted
        self.links = {}


# ================================================================== seeding

def seed(s, counts, seed_value):
    fk = Fake(seed_value, "sugar-users")
    rng = Fake(seed_value, "sugar-ids").rng
    n_users = counts.get("users", 5)
    users = []
    admin = Rec("1", {"user_name": "demo", "first_name": "Demo", "last_name": "Administrator",
                      "is_admin": True, "status": "Active", "employee_status": "Active", "title": "Administrator",
                      "is_group": False, "portal_only": False, "department": "IT"},
                T("2023-01-02T09:00:00Z"), T("2024-03-01T09:00:00Z"),
                [{"email_address": "admin@crmsync-demo.example", "primary_address": True}])
    s.base["Users"][admin.id] = admin
    sales = Rec("seed-sales-user", {"user_name": "sales", "first_name": "Søren", "last_name": "Sales",
                                     "is_admin": False, "status": "Active", "employee_status": "Active",
                                     "title": "Account Executive", "is_group": False, "portal_only": False},
                T("2023-02-01T09:00:00Z"), T("2024-04-01T09:00:00Z"),
                [{"email_address": "sales@crmsync-demo.example", "primary_address": True}])
    s.base["Users"][sales.id] = sales
    users.append(admin.id)
    for i in range(n_users):
        first, last = fk.first_name(), fk.last_name()
        uid = new_id(rng)
        inactive = n_users >= 3 and i == n_users - 1
        group = n_users >= 4 and i == n_users - 2
        s.base["Users"][uid] = Rec(uid, {
            "user_name": ascii_slug(first) + "." + ascii_slug(last, ""), "first_name": first, "last_name": last,
            "is_admin": False, "status": "Inactive" if inactive else "Active",
            "employee_status": "Terminated" if inactive else "Active", "title": fk.pick(["Sales", "Support", "CSM"]),
            "is_group": group, "portal_only": False},
            fk.timestamp(T("2023-01-01T00:00:00Z"), T("2024-06-30T00:00:00Z")),
            fk.timestamp(T("2024-07-01T00:00:00Z"), T("2025-06-30T00:00:00Z")),
            [{"email_address": "%s.%s@crmsync-demo.example" % (ascii_slug(first), ascii_slug(last, "")),
              "primary_address": True}])
        if not inactive and not group:
            users.append(uid)

    def owner(f):
        return "" if f.chance(0.08) else f.pick(users)

    def blocks(f, n, size):
        return [f.timestamp(*UPDATED_RANGE) // 1000 * 1000 for _ in range((n + size - 1) // size)]

    # accounts
    f = Fake(seed_value, "sugar-accounts")
    n = counts.get("accounts", 10)
    times = blocks(f, n, 5)
    accounts = []
    for i in range(n):
        aid = new_id(rng)
        name = f.company_name()
        city, state, zipc, country, region = f.city()
        dom = "%s-%d.example.com" % (ascii_slug(" ".join(name.split(" ")[:2]), "-"), i + 1)
        deleted = f.chance(0.05)
        fields = {"name": name, "industry": f.pick(INDUSTRIES), "account_type": f.pick(["Customer", "Prospect"]),
                  "website": "https://www." + dom, "phone_office": f.phone(),
                  "employees": f.pick(["5", "12", "48", "150", "50-100", "1200", ""]),
                  "billing_address_street": f.street(), "billing_address_city": city,
                  "billing_address_state": state, "billing_address_postalcode": zipc,
                  "billing_address_country": country, "assigned_user_id": owner(f),
                  "description": f.pick(["", "Zuverlässige Logistik für Europa — seit 1887.",
                                         'Makers of "fine" widgets.\nFamily owned.']),
                  "region_c": region if f.chance(0.8) else "", "tier_c": f.pick(["", "Gold", "Silver"])}
        rec = Rec(aid, fields, f.timestamp(*CREATED_RANGE) // 1000 * 1000, times[i // 5], deleted=deleted)
        s.base["Accounts"][aid] = rec
        if not deleted:
            accounts.append(aid)

    # contacts: date_modified shared by blocks of 25; one block of 250 when >= 500
    f = Fake(seed_value, "sugar-contacts")
    n = counts.get("contacts", 50)
    times = blocks(f, n, 25)
    big = f.timestamp(*UPDATED_RANGE) // 1000 * 1000
    contacts = []
    for i in range(n):
        cid = new_id(rng)
        first, last = f.first_name(), f.last_name()
        acc = f.pick(accounts) if accounts and f.chance(0.9) else ""
        dom = s.base["Accounts"][acc].f["website"][12:] if acc else f.pick(["gmail.com", "proton.example"])
        emails = [{"email_address": "%s.%s.%d@%s" % (ascii_slug(first), ascii_slug(last, ""), i + 1, dom),
                   "primary_address": True}]
        if f.chance(0.15):
            emails.append({"email_address": "%s%d@alt-mail.example" % (ascii_slug(first + " " + last, ""), i + 1),
                           "primary_address": False, "opt_out": f.chance(0.3)})
        city, state, zipc, country, _ = f.city()
        deleted = f.chance(0.04)
        fields = {"first_name": first, "last_name": last, "salutation": f.pick(["", "Mr.", "Ms.", "Dr."]),
                  "title": f.pick(["CTO", "CEO", "VP Sales", "Engineer", "", "Head of Operations"]),
                  "phone_work": f.phone() if f.chance(0.8) else "",
                  "phone_mobile": f.phone() if f.chance(0.3) else "",
                  "primary_address_street": f.street() if f.chance(0.7) else "",
                  "primary_address_city": city, "primary_address_state": state,
                  "primary_address_postalcode": zipc, "primary_address_country": country,
                  "account_id": acc, "assigned_user_id": owner(f), "do_not_call": f.chance(0.1),
                  "lead_source": f.pick(LEAD_SOURCE + [""]),
                  "favourite_colour_c": f.pick(COLOURS) if f.chance(0.4) else "",
                  "loyalty_tier_c": f.pick(["Gold", "Silver", "💎 Diamond"]) if f.chance(0.3) else ""}
        mod = big if (n >= 500 and 250 <= i < 500) else times[i // 25]
        s.base["Contacts"][cid] = Rec(cid, fields, f.timestamp(*CREATED_RANGE) // 1000 * 1000, mod, emails,
                                      deleted)
        if not deleted:
            contacts.append(cid)

    # leads: some converted (contact_id, account_id set)
    f = Fake(seed_value, "sugar-leads")
    n = counts.get("leads", 5)
    times = blocks(f, n, 5)
    for i in range(n):
        lid = new_id(rng)
        first, last = f.first_name(), f.last_name()
        converted = contacts and f.chance(0.3)
        status = "Converted" if converted else f.pick(["New", "Assigned", "In Process", "Recycled", "Dead"])
        fields = {"first_name": first, "last_name": last, "title": f.pick(["CFO", "Buyer", ""]),
                  "account_name": f.company_name(), "status": status, "lead_source": f.pick(LEAD_SOURCE),
                  "converted": bool(converted), "contact_id": f.pick(contacts) if converted else "",
                  "account_id": f.pick(accounts) if converted and accounts else "", "opportunity_id": "",
                  "phone_work": f.phone(), "assigned_user_id": owner(f), "score_c": f.int(0, 100)}
        s.base["Leads"][lid] = Rec(lid, fields, f.timestamp(*CREATED_RANGE) // 1000 * 1000, times[i // 5],
                                   [{"email_address": "%s.%s.lead%d@example.net" % (ascii_slug(first),
                                                                                      ascii_slug(last, ""), i + 1),
                                     "primary_address": True}], f.chance(0.05))

    # opportunities (Opportunities-only mode, si_rli_enabled false: §2.4)
    f = Fake(seed_value, "sugar-opportunities")
    n = counts.get("deals", counts.get("opportunities", 10))
    times = blocks(f, n, 5)
    for i in range(n):
        oid = new_id(rng)
        stage, prob = f.pick(SALES_STAGES)
        acc = f.pick(accounts) if accounts and f.chance(0.95) else ""
        fields = {"name": "%s — %s" % (s.base["Accounts"][acc].f["name"] if acc else "Direct",
                                       f.pick(["Platform licence", "Onboarding", "Renewal", "Pilot"])),
                  "amount": f.pick([str(f.int(1, 200) * 500), "%d.%02d" % (f.int(100, 99999), f.int(0, 99))]),
                  "currency_id": "-99", "base_rate": "1.000000", "sales_stage": stage, "probability": prob,
                  "date_closed": core.iso_ms(f.timestamp(T("2026-01-01T00:00:00Z"), T("2027-03-31T00:00:00Z")))[:10],
                  "assigned_user_id": owner(f), "opportunity_type": f.pick(["New Business", "Existing Business"]),
                  "deal_source_c": f.pick(["", "Web Site", "Partner"])}
        rec = Rec(oid, fields, f.timestamp(*CREATED_RANGE) // 1000 * 1000, times[i // 5], deleted=f.chance(0.05))
        rec.links["accounts"] = [acc] if acc else []
        s.base["Opportunities"][oid] = rec

    # target lists
    f = Fake(seed_value, "sugar-lists")
    defs = [("Newsletter — Zoë's picks", "default", [c for c in contacts if f.chance(0.15)]),
            ("Trade show 2025 (Kraków)", "seed", [c for c in contacts if f.chance(0.1)]),
            ("Empty list", "default", [])]
    for i, (name, ltype, members) in enumerate(defs):
        lid = new_id(rng)
        rec = Rec(lid, {"name": name, "list_type": ltype, "description": "", "domain_name": "",
                        "assigned_user_id": "1"}, T("2025-11-03T10:00:00Z") + i * 3600_000,
                  T("2025-11-04T10:00:00Z") + i * 3600_000)
        rec.links["contacts"] = list(members)
        s.base["ProspectLists"][lid] = rec


def copy_rec(r):
    c = Rec(r.id, dict(r.f), r.created, r.modified, [dict(e) for e in r.emails], r.deleted)
    c.links = {k: list(v) for k, v in r.links.items()}
    return c


# ================================================================ provider

class Sugar:
    name = "sugarcrm"

    def __init__(self, options):
        self.clock = options.clock
        self.enforce = options.rate_limits != "off"
        self.lock = threading.RLock()
        counts = {}
        for k, v in (options.records or {}).items():
            k = {"accounts": "accounts", "contacts": "contacts", "users": "users", "leads": "leads",
                 "deals": "deals", "opportunities": "deals", "account": "accounts",
                 "contact": "contacts"}.get(k)
            if k is None:
                raise ValueError("sugarcrm: unknown object in --records (known: accounts, contacts, users, "
                                 "leads, deals)")
            counts[k] = v
        self.base = {m: {} for m in MODULE_FIELDS}
        seed(self, counts, options.seed)
        self.router = Router()
        self._routes()
        self.reset()

    def credentials(self, url):
        return "SUGARCRM_URL=%s SUGARCRM_USERNAME=demo SUGARCRM_PASSWORD=demo" % url

    def reset(self):
        with self.lock:
            self.data = {m: {i: copy_rec(r) for i, r in recs.items()} for m, recs in self.base.items()}
            self.passwords = {"demo": "demo", "sales": "sales"}
            self.tokens = {}     # access token -> {user, platform, expires_ms, refresh}
            self.refresh = {}    # refresh token -> {user, platform, expires_ms}
            self.last_ms = 0
            self.max_list_limit = MAX_LIST_LIMIT

    def settings(self, body):
        """POST /_emulator/settings {"max_list_limit": N}: the admin's cap on
        max_num (a larger max_num becomes it)."""
        with self.lock:
            if "max_list_limit" in body:
                self.max_list_limit = max(1, int(body["max_list_limit"]))
            return {"max_list_limit": self.max_list_limit}

    def now_ms(self):
        """Server clock at second precision, never going backwards."""
        t = self.clock.now_ms() // 1000 * 1000
        self.last_ms = max(self.last_ms, t)
        return self.last_ms

    # ------------------------------------------------------------ routing
    def _routes(self):
        r = self.router
        mod = r"/([A-Z][A-Za-z]+)"
        r.add("POST", r"/oauth2/token", self.oauth_token)
        r.add("POST", r"/oauth2/logout", self.oauth_logout)
        r.add("GET", r"/ping", self.ping)
        r.add("GET", r"/ping/whattimeisit", self.whattimeisit)
        r.add("GET", r"/me", self.me)
        r.add("GET", r"/metadata", self.metadata)
        r.add("GET", r"/lang/([a-z]{2}_[a-z]{2})", self.lang)
        r.add("POST", r"/bulk", self.bulk)
        r.add("POST", mod + r"/filter", self.filter_post)
        r.add("GET", mod + r"/filter", self.filter_get)
        r.add("GET", mod + r"/filter/count", self.count)
        r.add("GET", mod + r"/count", self.count)
        r.add("GET", mod + r"/enum/([^/]+)", self.enum)
        r.add("GET", mod, self.filter_get)
        r.add("POST", mod, self.create)
        for m in ("PATCH", "PUT"):
            r.add(m, mod + r"/sync_key/([^/]+)", self.upsert_sync_key)
        r.add("GET", mod + r"/sync_key/([^/]+)", self.get_sync_key)
        r.add("GET", mod + r"/([^/]+)/link/([a-z_]+)", self.link_list)
        r.add("GET", mod + r"/([^/]+)/link/([a-z_]+)/filter", self.link_list)
        r.add("GET", mod + r"/([^/]+)/link/([a-z_]+)/count", self.link_count)
        r.add("POST", mod + r"/([^/]+)/link", self.link_add_many)
        r.add("POST", mod + r"/([^/]+)/link/([a-z_]+)/([^/]+)", self.link_add_one)
        r.add("DELETE", mod + r"/([^/]+)/link/([a-z_]+)/([^/]+)", self.link_remove)
        r.add("GET", mod + r"/([^/]+)", self.get_one)
        r.add("PUT", mod + r"/([^/]+)", self.update)
        r.add("DELETE", mod + r"/([^/]+)", self.delete)

    def handle(self, req):
        m = re.match(r"^/rest/v(\d+)(?:_(\d+))?(/.*)$", req.path)
        if not m:
            return err_response(404, "no_method", "Could not find any route that accepted a path like: %s"
                                % req.path)
        ver = (int(m.group(1)), int(m.group(2) or 0))
        if ver > API_MAX or ver < (10, 0):
            return err_response(301, "incorrect_version", "The version of the API you are using is not "
                                "supported by this server")
        path = m.group(3).rstrip("/") or "/"
        with self.lock:
            if path != "/oauth2/token":
                user, bad = self.authenticate(req)
                if bad is not None:
                    return bad
            else:
                user = None
            return self.dispatch(req.method, path, req, user)

    def dispatch(self, method, path, req, user, body=None):
        fn, groups = self.router.match(method, path)
        if fn is None:
            return err_response(404, "no_method", "Could not find any route that accepted a path like: %s" % path)
        try:
            if body is not None:
                req.ctx["body"] = body
            return fn(req, user, *groups)
        except SugarError as e:
            return err_response(e.status, e.label, e.message, **e.extra)
        except HttpError as e:
            return e.response
        except (AttributeError, TypeError, KeyError, ValueError) as e:
            where = traceback.extract_tb(e.__traceback__)[-1]
            sys.stderr.write("sugarcrm emulator: 422 for %s %s: %s: %s (sugarcrm.py:%d)\n"
                             % (method, path, type(e).__name__, e, where.lineno))
            return err_response(422, "invalid_parameter", "Invalid parameter: %s" % e)

    def body(self, req):
        if "body" in req.ctx:
            return req.ctx["body"]
        if not req.body:
            return {}
        try:
            return req.json()
        except BadJson:
            raise SugarError(400, "invalid_request", "Could not parse the request body as JSON")

    def authenticate(self, req):
        token = req.header("OAuth-Token") or req.bearer()
        if not token:
            return None, err_response(401, "need_login", "No valid authentication for user.")
        info = self.tokens.get(token)
        if info is None:
            return None, err_response(401, "invalid_grant", "The access token provided is invalid.")
        if info.get("forced") or self.clock.now_ms() >= info["expires_ms"]:
            return None, err_response(401, "invalid_grant", "The access token provided has expired.")
        return info["user"], None

    def user_rec(self, user_name):
        for r in self.data["Users"].values():
            if r.f.get("user_name") == user_name:
                return r
        return None

    # ------------------------------------------------------ control API hooks
    def fault_response(self, req, status, rule):
        bodies = {429: ("too_many_requests", "Too many requests"),   # a proxy's throttle (unverified, §10)
                  401: ("invalid_grant", "The access token provided is invalid."),
                  403: ("not_authorized", "No access to view records for module: Contacts"),
                  500: ("fatal_error", "Database failure. Please refer to sugarcrm.log for details."),
                  502: ("bad_gateway", "Bad Gateway"),
                  503: ("service_unavailable", "The service is temporarily unavailable."),
                  504: ("gateway_timeout", "Gateway Timeout")}
        label, msg = bodies.get(status, ("unknown_error", "Error %d" % status))
        if status in (502, 504):   # proxies answer HTML (§11)
            return core.raw_response(status, "<html><body><h1>%d %s</h1></body></html>" % (status, msg),
                                     "text/html")
        return err_response(status, label, msg)

    def expire_token(self, req):
        with self.lock:
            info = self.tokens.get(req.header("OAuth-Token") or req.bearer() or "")
            if info is not None:
                info["forced"] = True
        return err_response(401, "invalid_grant", "The access token provided has expired.")

    def redact_path(self, path):
        return path

    def records(self, obj):
        m = self.module_of(obj)
        if m is None:
            return None
        with self.lock:
            return [self.render(m, r) for r in sorted(self.data[m].values(), key=lambda r: (r.created, r.id))]

    def module_of(self, obj):
        return {"accounts": "Accounts", "contacts": "Contacts", "users": "Users", "leads": "Leads",
                "deals": "Opportunities", "opportunities": "Opportunities", "lists": "ProspectLists",
                "prospectlists": "ProspectLists"}.get(obj.lower(), obj if obj in MODULE_FIELDS else None)

    def touch(self, obj, body):
        """Server-side change: {"ids": [...], "set": {...}, "date_modified"?: ISO, "deleted"?: bool}."""
        m = self.module_of(obj)
        if m is None:
            return None
        with self.lock:
            when = parse_time(body["date_modified"]) if body.get("date_modified") else self.now_ms()
            done = []
            for rid in body.get("ids") or []:
                r = self.data[m].get(rid)
                if r is None:
                    continue
                r.f.update(body.get("set") or {})
                if "deleted" in body:
                    r.deleted = bool(body["deleted"])
                r.modified = when // 1000 * 1000
                done.append(rid)
            return {"touched": done, "date_modified": wire_time(when)}

    # ================================================================ OAuth (§1)
    def oauth_token(self, req, user):
        b = self.body(req)
        if not isinstance(b, dict) or b.get("grant_type") not in ("password", "refresh_token"):
            raise SugarError(400, "invalid_request", "Invalid grant_type parameter or parameter missing")
        if b.get("client_id") != "sugar" or (b.get("client_secret") or "") != "":
            raise SugarError(400, "invalid_client", "The client credentials are invalid")
        platform = b.get("platform") or "base"
        if platform not in PLATFORMS:
            # Sugar 8+: custom platforms must be registered (§12.1); the body is unverified.
            raise SugarError(400, "invalid_parameter", "The requested platform %s is not allowed" % platform)
        now = self.clock.now_ms()
        if b["grant_type"] == "password":
            name = b.get("username")
            if not name or self.passwords.get(name) != b.get("password"):
                raise SugarError(401, "need_login", "You must specify a valid username and password.")
        else:
            info = self.refresh.get(b.get("refresh_token") or "")
            if info is None:
                raise SugarError(400, "invalid_grant", "Invalid refresh token")
            if now >= info["expires_ms"]:
                raise SugarError(400, "invalid_grant", "Refresh token has expired: %d vs %d"
                                 % (info["expires_ms"] // 1000, now // 1000))
            name = info["user"]
            del self.refresh[b["refresh_token"]]   # rotation: the old one is gone (OA2 createAccessToken)
        if b["grant_type"] == "password":
            # One session per user and platform: a new login ends the other one (§12.1).
            for t, i in list(self.tokens.items()):
                if i["user"] == name and i["platform"] == platform:
                    del self.tokens[t]
            for t, i in list(self.refresh.items()):
                if i["user"] == name and i["platform"] == platform:
                    del self.refresh[t]
        access, refresh = core.new_uuid(), core.new_uuid()
        self.tokens[access] = {"user": name, "platform": platform, "expires_ms": now + ACCESS_TTL_S * 1000}
        self.refresh[refresh] = {"user": name, "platform": platform, "expires_ms": now + REFRESH_TTL_S * 1000}
        return json_response(200, {"access_token": access, "expires_in": ACCESS_TTL_S, "token_type": "bearer",
                                   "scope": None, "refresh_token": refresh,
                                   "refresh_expires_in": REFRESH_TTL_S, "download_token": core.new_uuid()})

    def oauth_logout(self, req, user):
        rt = self.body(req).get("refresh_token")
        self.refresh.pop(rt or "", None)
        return json_response(200, {"success": True})

    # ============================================================== health (§9)
    def ping(self, req, user):
        return json_response(200, "pong")

    def whattimeisit(self, req, user):
        return json_response(200, wire_time(self.clock.now_ms()))

    def me(self, req, user):
        u = self.user_rec(user)
        return json_response(200, {"current_user": {
            "type": "admin" if u.f.get("is_admin") else "user", "id": u.id, "user_name": user,
            "full_name": (u.f.get("first_name", "") + " " + u.f.get("last_name", "")).strip(),
            "preferences": {"timezone": USER_TZ, "datepref": "Y-m-d", "timepref": "H:i", "language": "en_us"},
            "email": self.render_emails(u), "my_teams": [{"id": "1", "name": "Global"}],
            "site_user_id": "su-" + u.id}})

    def metadata(self, req, user):
        tf = req.args("type_filter")
        out = {"_hash": "emulated"}
        if "server_info" in tf:
            out["server_info"] = {"flavor": "ENT", "version": "14.0.2", "build": "328",
                                  "marketing_version": "Q2 2024", "product_name": "SugarCRM",
                                  "site_id": SITE_ID, "si_rli_enabled": False, "host_environment": "on-premise"}
        if "modules" in tf or not tf:
            mods = req.args("module_filter") or list(MODULE_FIELDS)
            out["modules"] = {}
            for m in mods:
                if m in VARDEFS:
                    fields = {k: dict(v) for k, v in VARDEFS[m].items()}
                    fields["_hash"] = "h-" + m    # a string among the fields (§7): clients skip it
                    out["modules"][m] = {"fields": fields, "dupCheckEnabled": True}
        return json_response(200, out)

    def lang(self, req, user, code):
        # ?ordered=true: each list as [[key, label], ...] tuples (§15).
        ordered = req.args("ordered")[:1] in (["true"], ["1"])
        lists = {d: [[k, v] for k, v in opts.items()] for d, opts in DOMS.items()} if ordered else DOMS
        return json_response(200, {"app_list_strings": lists, "app_strings": {"LBL_ID": "ID"},
                                   "mod_strings": LABELS, "_hash": "lang"})

    def enum(self, req, user, module, field):
        d = VARDEFS.get(module, {}).get(field)
        if d is None:
            raise SugarError(404, "not_found", "field not found")
        if d.get("options") not in DOMS:
            raise SugarError(404, "not_found", "options not found")
        return json_response(200, DOMS[d["options"]])

    # ============================================================ rendering
    def render_emails(self, r):
        return [{"email_address": e["email_address"], "email_address_id": "ea-" + ascii_slug(e["email_address"], "-"),
                 "primary_address": bool(e.get("primary_address")), "reply_to_address": False,
                 "invalid_email": bool(e.get("invalid_email")), "opt_out": bool(e.get("opt_out"))}
                for e in r.emails]

    def render(self, m, r, fields=None):
        out = {"id": r.id}
        want = None if not fields else set(fields) | set(MANDATORY)
        for name, d in VARDEFS[m].items():
            if want is not None and name not in want:
                continue
            if d["type"] == "link" or name in ("id", "locked_fields"):
                continue
            if name == "date_entered":
                out[name] = wire_time(r.created)
            elif name == "date_modified":
                out[name] = wire_time(r.modified)
            elif name == "deleted":
                out[name] = r.deleted
            elif name == "email":
                out[name] = self.render_emails(r)
            elif name in ("email1", "email2"):
                prim = [e for e in r.emails if e.get("primary_address")]
                other = [e for e in r.emails if not e.get("primary_address")]
                pick = prim if name == "email1" else other
                out[name] = pick[0]["email_address"] if pick else ""
            elif name == "full_name" or (name == "name" and m in PERSON_MODULES):
                out[name] = (r.f.get("first_name", "") + " " + r.f.get("last_name", "")).strip()
            elif name in ("assigned_user_name", "modified_by_name", "created_by_name"):
                uid = r.f.get(d["id_name"]) or ("1" if name != "assigned_user_name" else "")
                u = self.data["Users"].get(uid)
                out[name] = (u.f.get("first_name", "") + " " + u.f.get("last_name", "")).strip() if u else ""
            elif name in ("modified_user_id", "created_by"):
                out[name] = r.f.get(name, "1")
            elif name == "team_name":
                out[name] = [{"id": "1", "name": "Global", "name_2": "", "primary": True}]
            elif name in ("tag",):
                out[name] = r.f.get("tag", [])
            elif name in ("following", "my_favorite", "is_group", "portal_only", "is_admin", "converted",
                          "do_not_call"):
                out[name] = bool(r.f.get(name, False))
            elif m == "Opportunities" and name == "account_id":
                accs = r.links.get("accounts") or []
                out[name] = accs[0] if accs else ""
            elif name == "account_name" and d["type"] == "relate":
                aid = out.get("account_id") if "account_id" in out else r.f.get("account_id", "")
                if m == "Opportunities":
                    accs = r.links.get("accounts") or []
                    aid = accs[0] if accs else ""
                a = self.data["Accounts"].get(aid or "")
                out[name] = a.f.get("name", "") if a and not a.deleted else ""
            elif name == "amount_usdollar":
                out[name] = r.f.get("amount", "")
            elif name == "sales_status":
                st = r.f.get("sales_stage", "")
                out[name] = st if st in ("Closed Won", "Closed Lost") else "In Progress"
            elif d["type"] in ("int",):
                v = r.f.get(name, "")
                out[name] = v if v != "" else None
            else:
                v = r.f.get(name, "")
                out[name] = "" if v is None else v
        if want is None or "locked_fields" in want:
            out["locked_fields"] = []
        out["_acl"] = {"fields": {}}
        out["_module"] = m
        return out

    # ============================================================= filters (§3)
    def field_value(self, m, r, field):
        if field == "id":
            return r.id
        if field == "date_modified":
            return r.modified
        if field == "date_entered":
            return r.created
        if field == "deleted":
            return r.deleted
        if m == "Opportunities" and field == "account_id":
            accs = r.links.get("accounts") or []
            return accs[0] if accs else ""
        return r.f.get(field, "")

    def check_field(self, m, field):
        if field in ("email", "email_addresses.email_address", "$or", "$and"):
            return
        if field not in VARDEFS[m]:
            raise SugarError(422, "invalid_parameter", "Unknown field %s" % field)

    def match_clause(self, m, r, clause):
        if not isinstance(clause, dict):
            raise SugarError(422, "invalid_parameter", "Unexpected filter type %s." % type(clause).__name__)
        for key, cond in clause.items():
            if key in ("$or", "$and"):
                if not isinstance(cond, list):
                    raise SugarError(422, "invalid_parameter", "%s requires an array" % key)
                res = [self.match_clause(m, r, c) for c in cond]
                ok = any(res) if key == "$or" else all(res)
            elif key in ("$owner", "$favorite", "$creator", "$tracker", "$following"):
                ok = True
            else:
                self.check_field(m, key)
                ok = self.match_field(m, r, key, cond)
            if not ok:
                return False
        return True

    def match_field(self, m, r, field, cond):
        if not isinstance(cond, dict):
            cond = {"$equals": cond}
        is_time = field in ("date_modified", "date_entered") or VARDEFS[m].get(field, {}).get("type") == "datetime"
        if field in ("email", "email_addresses.email_address"):
            values = [e["email_address"].lower() for e in r.emails]
        else:
            values = [self.field_value(m, r, field)]
        for op, arg in cond.items():
            if op not in OPERATORS:
                raise SugarError(422, "invalid_parameter", "Did not recognize the operand: %s" % op)
            if op in ("$in", "$not_in") and not isinstance(arg, list):
                raise SugarError(422, "invalid_parameter", "%s requires an array" % op)
            if op in ("$between", "$dateBetween") and not (isinstance(arg, list) and len(arg) == 2):
                raise SugarError(422, "invalid_parameter", "$between requires an array with two values.")
            if not any(self.test(op, v, arg, is_time) for v in values or [""]):
                return False
        return True

    def test(self, op, v, arg, is_time):
        def norm(x, end=False):
            if is_time:
                t = parse_time(x)
                if t is None:
                    raise SugarError(422, "invalid_parameter", "Invalid date value: %s" % x)
                if isinstance(x, str) and len(x) == 10 and end:   # date-only: the whole day (§4)
                    t += 86399_000
                return t // 1000 * 1000
            if isinstance(x, bool):
                return x
            return str(x).lower() if not isinstance(x, (int, float)) else x

        if op == "$is_null":
            return v in ("", None)
        if op == "$not_null":
            return v not in ("", None)
        if op == "$empty":
            return v in ("", None, [])
        if op == "$not_empty":
            return v not in ("", None, [])
        if op in ("$in", "$not_in"):
            hit = any(norm(a) == (v if is_time else norm(v)) for a in arg)
            return hit if op == "$in" else not hit
        if op in ("$between", "$dateBetween"):
            lo, hi = norm(arg[0]), norm(arg[1], True)
            vv = v if is_time else norm(v)
            return lo <= vv <= hi
        if is_time:
            vv = v
            if op == "$equals" and isinstance(arg, str) and len(arg) == 10:
                return norm(arg) <= vv <= norm(arg, True)
            if op == "$gt" and isinstance(arg, str) and len(arg) == 10:
                return vv > norm(arg, True)
            a = norm(arg, op in ("$lte",))
        else:
            vv, a = norm(v), norm(arg)
            if isinstance(vv, (int, float)) and not isinstance(a, (int, float)):
                try:
                    a = float(a)
                except ValueError:
                    vv = str(vv)
            elif isinstance(a, (int, float)) and not isinstance(vv, (int, float)):
                try:
                    vv = float(vv) if vv != "" else vv
                except ValueError:
                    a = str(a)
        if op == "$equals":
            return vv == a
        if op == "$not_equals":
            return vv != a
        if op == "$starts":
            return str(vv).startswith(str(a))
        if op == "$ends":
            return str(vv).endswith(str(a))
        if op == "$contains":
            return str(a) in str(vv)
        if op == "$not_contains":
            return str(a) not in str(vv)
        try:
            return {"$lt": vv < a, "$lte": vv <= a, "$gt": vv > a, "$gte": vv >= a}[op]
        except TypeError:
            return False

    def list_args(self, req, body=None):
        if body is None:
            args = {}
            for k in ("max_num", "offset", "fields", "order_by", "deleted", "filter"):
                v = req.arg(k)
                if v is not None:
                    args[k] = v
            if "filter" in args:
                try:
                    args["filter"] = json.loads(args["filter"])
                except ValueError:
                    raise SugarError(422, "invalid_parameter", "Unexpected filter type string.")
            if "deleted" in args:
                args["deleted"] = args["deleted"] in ("true", "1")
            return args
        if not isinstance(body, dict):
            raise SugarError(422, "invalid_parameter", "Unexpected filter type %s." % type(body).__name__)
        return body

    def query(self, m, rows, args):
        flt = args.get("filter", [])
        if isinstance(flt, dict):
            flt = [flt]
        if not isinstance(flt, list):
            raise SugarError(422, "invalid_parameter", "Unexpected filter type string.")
        if args.get("q") is not None and (flt or args.get("deleted")):
            raise SugarError(422, "invalid_parameter", "q cannot be combined with filter or deleted")
        try:
            max_num = int(args.get("max_num", DEFAULT_MAX_NUM))
            offset = int(args.get("offset", 0) or 0)
        except (TypeError, ValueError):
            raise SugarError(422, "invalid_parameter", "max_num and offset must be integers")
        if max_num < 1 or max_num > self.max_list_limit:
            max_num = self.max_list_limit  # SugarApi::checkMaxListLimit
        order = []
        for part in (args.get("order_by") or "date_modified:DESC").split(","):
            f, _, d = part.partition(":")
            f = f.strip()
            if f not in VARDEFS[m]:
                raise SugarError(422, "invalid_parameter", "Unknown field %s" % f)
            order.append((f, (d or "ASC").strip().upper() == "DESC"))
        deleted = bool(args.get("deleted"))
        sel = [r for r in rows if (deleted or not r.deleted) and all(self.match_clause(m, r, c) for c in flt)]
        for f, desc in reversed(order):
            sel.sort(key=lambda r: self.sort_key(m, r, f), reverse=desc)
        page = sel[offset:offset + max_num + 1]
        nxt = offset + max_num if len(page) > max_num else -1
        fields = args.get("fields")
        if isinstance(fields, str):
            fields = [x.strip() for x in fields.split(",") if x.strip()]
        return {"next_offset": nxt, "records": [self.render(m, r, fields) for r in page[:max_num]]}

    def sort_key(self, m, r, f):
        v = self.field_value(m, r, f)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return (0, v, "")
        return (1, 0, str(v))

    def module(self, name, write=False):
        if name not in MODULE_FIELDS:
            raise SugarError(404, "no_method", "Could not find any route that accepted a path like: /%s" % name)
        if write and name not in WRITABLE:
            raise SugarError(403, "not_authorized",
                             "You are not authorized to edit %s. Contact your administrator if you need access."
                             % name)
        return name

    def filter_post(self, req, user, module):
        m = self.module(module)
        return json_response(200, self.query(m, self.data[m].values(), self.list_args(req, self.body(req))))

    def filter_get(self, req, user, module):
        m = self.module(module)
        return json_response(200, self.query(m, self.data[m].values(), self.list_args(req)))

    def count(self, req, user, module):
        m = self.module(module)
        args = self.list_args(req)
        args["max_num"], args["offset"] = self.max_list_limit, 0
        rows = [r for r in self.data[m].values() if (args.get("deleted") or not r.deleted)
                and all(self.match_clause(m, r, c) for c in (args.get("filter") or []))]
        return json_response(200, {"record_count": len(rows)})

    # ============================================================== records (§6)
    def get_live(self, m, rid):
        r = self.data[m].get(rid)
        if r is None or r.deleted:
            raise SugarError(404, "not_found", "Could not find record: %s in module: %s" % (rid, m))
        return r

    def get_one(self, req, user, module, rid):
        m = self.module(module)
        fields = req.args("fields")
        return json_response(200, self.render(m, self.get_live(m, rid), fields or None))

    def apply(self, m, r, body, user):
        """Writes a field map onto r (validation as Sugar does it: little, §6)."""
        if not isinstance(body, dict):
            raise SugarError(422, "invalid_parameter", "Invalid request body")
        for k, v in body.items():
            d = VARDEFS[m].get(k)
            if k == "id":
                if v != r.id:
                    raise SugarError(422, "invalid_parameter", "Invalid field value: id in module: %s" % m)
                continue
            if k == "email" and m in EMAIL_MODULES:
                if not isinstance(v, list):
                    raise SugarError(422, "invalid_parameter", "Invalid field value: email in module: %s" % m)
                new = []
                for e in v:
                    addr = (e.get("email_address") or "").strip() if isinstance(e, dict) else ""
                    if not addr:
                        continue
                    if not EMAIL_RX.match(addr):
                        raise SugarError(422, "invalid_parameter", "%s is an invalid email address" % addr)
                    new.append({"email_address": addr, "primary_address": bool(e.get("primary_address")),
                                "opt_out": bool(e.get("opt_out")), "invalid_email": bool(e.get("invalid_email"))})
                if new and not any(e["primary_address"] for e in new):
                    new[0]["primary_address"] = True
                r.emails = new
                continue
            if k == "email1" and m in EMAIL_MODULES:   # the primary address shortcut (§2.1)
                rest = [e for e in r.emails if not e.get("primary_address")]
                r.emails = ([{"email_address": v, "primary_address": True}] if v else []) + rest
                continue
            if m == "Opportunities" and k == "accounts" and isinstance(v, dict):
                cur = r.links.setdefault("accounts", [])
                for x in v.get("delete") or []:
                    x = x.get("id") if isinstance(x, dict) else x
                    if x in cur:
                        cur.remove(x)
                for x in v.get("add") or []:
                    x = x.get("id") if isinstance(x, dict) else x
                    if x not in self.data["Accounts"]:
                        raise SugarError(404, "not_found", "Could not find the related bean")
                    if x not in cur:
                        cur.append(x)
                continue
            if d is None or k in NON_STORED or (k == "name" and m in PERSON_MODULES) or d["type"] in ("link", "relate") and not d.get("save"):
                continue     # unknown and display-only fields are silently ignored (§6)
            if d.get("readonly") or d.get("calculated"):
                continue
            if v is None:
                v = ""
            if d["type"] in ("varchar", "name", "phone", "url") and isinstance(v, str) \
                    and len(v) > d.get("len", 255):
                raise SugarError(422, "invalid_parameter", "ERR_FIELD_TOO_LARGE: %s" % k)
            if d["type"] in ("varchar", "name", "phone", "url", "text", "enum", "id", "relate", "date",
                             "currency", "currency_id", "decimal") and isinstance(v, (dict, list)):
                raise SugarError(422, "invalid_parameter", "Invalid field value: %s in module: %s" % (k, m))
            if d["type"] == "date" and v != "" and not re.match(r"^\d{4}-\d\d-\d\d$", str(v)):
                raise SugarError(422, "invalid_parameter", "Invalid field value: %s in module: %s" % (k, m))
            if d["type"] == "int" and v != "":
                try:
                    v = int(float(v))
                except (TypeError, ValueError):
                    raise SugarError(422, "invalid_parameter", "Invalid field value: %s in module: %s" % (k, m))
            if d["type"] == "bool":
                v = v in (True, 1, "1", "true")
            if d["type"] == "currency" and v != "":
                try:
                    float(v)
                except (TypeError, ValueError):
                    raise SugarError(422, "invalid_parameter", "Invalid field value: %s in module: %s" % (k, m))
                v = str(v)
            if k == "sync_key" and v:
                for o in self.data[m].values():
                    if o.id != r.id and not o.deleted and o.f.get("sync_key") == v:
                        raise SugarError(422, "invalid_parameter",
                                         "A database entry of id: %s, with sync_key: %s in module: %s already exists"
                                         % (o.id, v, m))
            r.f[k] = v
        if m == "Opportunities":
            # The enforced formula (§15): a written probability gives way to the
            # stage's; a key not in sales_stage_dom leaves it as it was (the
            # doc guesses "empty"; unverified either way).
            r.f["probability"] = dict(SALES_STAGES).get(r.f.get("sales_stage"), r.f.get("probability", ""))
        r.f["modified_user_id"] = self.user_rec(user).id
        r.modified = self.now_ms()

    def new_rec(self, m, rid, user, now):
        """A new row: omitted fields take their vardef default (§15,
        SugarBean::populateDefaultValues), and Opportunity::save fills an
        empty probability from the stage."""
        f = dict(CREATE_DEFAULTS.get(m, {}), created_by=self.user_rec(user).id)
        return Rec(rid, f, now, now)

    def create(self, req, user, module):
        m = self.module(module, True)
        body = self.body(req)
        if not isinstance(body, dict):
            raise SugarError(422, "invalid_parameter", "Invalid request body")
        rid = body.get("id") or core.new_uuid()
        if rid in self.data[m]:
            raise SugarError(422, "invalid_parameter", "Record already exists: %s in module: %s" % (rid, m))
        now = self.now_ms()
        r = self.new_rec(m, rid, user, now)
        self.apply(m, r, body, user)
        self.data[m][rid] = r
        return json_response(200, self.render(m, r))

    def update(self, req, user, module, rid):
        m = self.module(module, True)
        r = self.get_live(m, rid)
        self.apply(m, r, self.body(req), user)
        return json_response(200, self.render(m, r))

    def delete(self, req, user, module, rid):
        m = self.module(module, True)
        r = self.get_live(m, rid)
        r.deleted = True                 # soft delete bumps date_modified (§5)
        r.modified = self.now_ms()
        for lst in self.data["ProspectLists"].values():
            if rid in lst.links.get("contacts", []):
                lst.links["contacts"].remove(rid)
        return json_response(200, {"id": rid})

    def upsert_sync_key(self, req, user, module, value):
        m = self.module(module, True)
        if not self.user_rec(user).f.get("is_admin"):
            raise SugarError(403, "not_authorized", "Only administrators can use the Integrate API")
        body = dict(self.body(req) or {})
        body["sync_key"] = value
        for r in self.data[m].values():
            if r.f.get("sync_key") == value:
                if r.deleted:       # a soft-deleted holder loses the key; a new record is made (§6)
                    r.f["sync_key"] = ""
                    continue
                body.pop("id", None)
                self.apply(m, r, body, user)
                return json_response(200, {"record": r.id})
        now = self.now_ms()
        r = self.new_rec(m, core.new_uuid(), user, now)
        body.pop("id", None)
        self.apply(m, r, body, user)
        self.data[m][r.id] = r
        return json_response(201, {"record": r.id})

    def get_sync_key(self, req, user, module, value):
        m = self.module(module)
        for r in self.data[m].values():
            if r.f.get("sync_key") == value and not r.deleted:
                return json_response(200, self.render(m, r))
        raise SugarError(422, "invalid_parameter", "Could not find record with sync_key: %s in module: %s"
                         % (value, m))

    # ============================================================== bulk (§6)
    def bulk(self, req, user):
        b = self.body(req)
        reqs = b.get("requests") if isinstance(b, dict) else None
        if not isinstance(reqs, list):
            raise SugarError(422, "missing_parameter", "Missing parameter: requests")
        if any(not isinstance(x, dict) or not x.get("url") for x in reqs):
            raise SugarError(422, "invalid_parameter", "Invalid request - URL is missing")
        out = []
        for x in reqs:
            m = re.match(r"^/?v(\d+)(?:_(\d+))?(/[^?]*)(?:\?(.*))?$", x["url"])
            if not m:
                resp = err_response(404, "no_method", "Could not find any route that accepted a path like: %s"
                                    % x["url"])
            else:
                data = x.get("data")
                try:
                    body = json.loads(data) if isinstance(data, str) and data else (data or {})
                except ValueError:
                    body = None
                sub = core.Request((x.get("method") or "GET").upper(), x["url"], {}, b"")
                sub.query = core.urllib.parse.parse_qs(m.group(4) or "", keep_blank_values=True)
                if body is None:
                    resp = err_response(400, "invalid_request", "Could not parse the request data as JSON")
                else:
                    resp = self.dispatch(sub.method, m.group(3).rstrip("/"), sub, user, body)
            contents = json.loads(resp.body) if resp.body else None
            out.append({"contents": contents, "headers": {k: v for k, v in resp.headers},
                        "status": resp.status, "status_text": core.http.server.BaseHTTPRequestHandler
                        .responses.get(resp.status, ("",))[0]})
        return json_response(200, out)

    # ======================================================== links and lists (§8)
    def link_target(self, m, link):
        if m == "ProspectLists" and link in ("contacts", "leads", "accounts", "prospects", "users"):
            return {"contacts": "Contacts", "leads": "Leads", "accounts": "Accounts", "users": "Users"}.get(link)
        if m == "Opportunities" and link == "accounts":
            return "Accounts"
        raise SugarError(404, "not_found", "Could not find a relationship named: %s" % link)

        return None

    def link_rows(self, m, rid, link):
        parent = self.get_live(m, rid)
        target = self.link_target(m, link)
        ids = parent.links.get(link, [])
        return target, [self.data[target][i] for i in ids if target and i in self.data[target]
                        and not self.data[target][i].deleted]

    def link_list(self, req, user, module, rid, link):
        m = self.module(module)
        target, rows = self.link_rows(m, rid, link)
        args = self.list_args(req)
        args.setdefault("order_by", "date_modified:DESC,id:DESC")   # unverified default
        return json_response(200, self.query(target, rows, args))

    def link_count(self, req, user, module, rid, link):
        m = self.module(module)
        _, rows = self.link_rows(m, rid, link)
        return json_response(200, {"record_count": len(rows)})

    def link_add(self, m, parent, link, cid):
        target = self.link_target(m, link)
        c = self.data[target].get(cid)
        if c is None or c.deleted:
            raise SugarError(404, "not_found", "Could not find the related bean")
        cur = parent.links.setdefault(link, [])
        if cid not in cur:       # re-adding is a no-op 200
            cur.append(cid)
        return c, target

    def link_add_many(self, req, user, module, rid):
        m = self.module(module, True)
        parent = self.get_live(m, rid)
        b = self.body(req)
        link, ids = b.get("link_name"), b.get("ids")
        if not link:
            raise SugarError(422, "missing_parameter", "Missing parameter: link_name")
        if not isinstance(ids, list):
            raise SugarError(422, "missing_parameter", "Missing parameter: ids")
        related = []
        for x in ids:            # not atomic: earlier ids stay linked when one fails (§8)
            cid = x.get("id") if isinstance(x, dict) else x
            c, target = self.link_add(m, parent, link, cid)
            related.append(self.render(target, c))
        if b.get("avoid_response"):
            return json_response(200, [])
        return json_response(200, {"record": self.render(m, parent), "related_records": related})

    def link_add_one(self, req, user, module, rid, link, cid):
        m = self.module(module, True)
        parent = self.get_live(m, rid)
        c, target = self.link_add(m, parent, link, cid)
        return json_response(200, {"record": self.render(m, parent), "related_record": self.render(target, c)})

    def link_remove(self, req, user, module, rid, link, cid):
        m = self.module(module, True)
        parent = self.get_live(m, rid)
        target = self.link_target(m, link)
        cur = parent.links.get(link, [])
        if cid not in cur:
            raise SugarError(404, "not_found", "Could not find the related bean")
        cur.remove(cid)
        c = self.data[target].get(cid)
        return json_response(200, {"record": self.render(m, parent),
                                   "related_record": self.render(target, c) if c else {"id": cid}})


def create(options):
    return Sugar(options)
