"""Zoho CRM emulator for crmsync.

Speaks the v8 wire protocol described in ../../../shared/api/zoho.md (section
numbers below refer to it): Zoho-oauthtoken auth and the accounts token
endpoint at the same URL, the mandatory `fields` parameter capped at 50 names,
pages of <= 200 with the 2,000-record wall for `page` and `page_token`
beyond it, 204 and 304 answers, If-Modified-Since, the deleted-records
endpoint, insert/update/upsert/delete of <= 100 records with per-record
codes, fields metadata (Stage options with forecast_type), org, users,
Campaigns with their Contacts and Leads related lists, credits per rolling
24 hours with X-API-CREDITS-REMAINING, the concurrency limit, and timestamps
in the org's time zone (Asia/Kolkata, +05:30).  Facts marked "unverified"
are choices where zoho.md is silent or unsure.

Layout: facts and field tables, the record store and seeder, then the Zoho
class whose methods are the endpoint handlers.
"""

import base64
import collections
import hashlib
import json
import math
import re
import secrets
import threading
import time
import urllib.parse

import core
from core import HttpError, BadJson, Fake, Router, iso_ms, parse_time, json_response, empty_response, ascii_slug

# ====================================================================== facts

ORG_PREFIX = "5725767000000"          # ids: 13 digits of org prefix + 6 (19 digits, §2)
ZGID = "74822955"                     # remote_namespace (§9)
TZ_NAME, TZ_OFFSET_MIN = "Asia/Kolkata", 330   # the org's zone: no DST, never UTC
DEMO_TOKEN = "demo"                   # static token, never expires
CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = "demo-client", "demo-secret", "demo-refresh"
GRANT_CODE = "demo-code"
TOKEN_TTL_S = 3600
PER_PAGE_DEFAULT, PER_PAGE_MAX = 200, 200
DISCRETE_LIMIT = 2000                 # records reachable with `page` (§3)
FIELDS_MAX = 50
WRITE_MAX = 100
SEARCH_CAP = 2000
CRITERIA_MAX = 10
PAGE_TOKEN_TTL_MS = 24 * 3600 * 1000
# Enterprise edition (§10): 50,000 + 1,000 x licensed users per rolling 24 h; 20 concurrent calls.
EDITION, CREDITS_BASE, CREDITS_PER_USER, CONCURRENCY = "enterprise", 50_000, 1_000, 20
CREDITS_WINDOW_S = 24 * 3600
MODULE_IDS = {"Accounts": "5725767000000002175", "Contacts": "5725767000000002179",
              "Leads": "5725767000000002173", "Deals": "5725767000000002181",
              "Campaigns": "5725767000000002185", "Vendors": "5725767000000002187"}
FIRST_NUM = {"Accounts": 300001, "Contacts": 400001, "Leads": 500001, "Deals": 600001, "Campaigns": 700001,
             "Vendors": 200001}
SEED_ALIASES = {"accounts": "Accounts", "account": "Accounts", "contacts": "Contacts", "contact": "Contacts",
                "leads": "Leads", "lead": "Leads", "deals": "Deals", "deal": "Deals",
                "campaigns": "Campaigns", "lists": "Campaigns", "users": "users", "user": "users"}
EMAIL_RX = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")
DATETIME_RX = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
DATE_RX = re.compile(r"^\d{4}-\d\d-\d\d$")
NUMBER_RX = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)$")
MSG_CREDITS = "You have exceeded the maximum API credits allotted for your organization"  # unverified text
MSG_CONCURRENCY = "You have exceeded the concurrency limit allowed for your organization"  # unverified text


def zt(ms):
    """Epoch ms -> '2026-01-05T20:56:49+05:30': second precision, the org's offset (§2)."""
    t = time.gmtime(ms // 1000 + TZ_OFFSET_MIN * 60)
    return "%04d-%02d-%02dT%02d:%02d:%02d%s%02d:%02d" % (
        t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
        "+" if TZ_OFFSET_MIN >= 0 else "-", abs(TZ_OFFSET_MIN) // 60, abs(TZ_OFFSET_MIN) % 60)


def zdate(ms):
    t = time.gmtime(ms // 1000 + TZ_OFFSET_MIN * 60)
    return "%04d-%02d-%02d" % (t.tm_year, t.tm_mon, t.tm_mday)


def rid(module, n):
    return ORG_PREFIX + "%06d" % n


class F:
    """One field definition (GET /crm/v8/settings/fields, §7)."""

    def __init__(self, api, label, dtype, flags="", options=(), lookup=None, length=255):
        fl = flags.split()
        self.api, self.label, self.type = api, label, dtype
        self.read_only = "ro" in fl
        self.mandatory = "req" in fl
        self.custom = "custom" in fl
        self.unique = "unique" in fl
        self.options = list(options)   # [(value, extra dict)]
        self.lookup = lookup
        self.length = length

    def json_type(self):
        return {"integer": "integer", "bigint": "integer", "double": "double", "currency": "double",
                "percent": "double", "boolean": "boolean", "lookup": "jsonobject", "ownerlookup": "jsonobject",
                "multiselectpicklist": "jsonarray", "profileimage": "string"}.get(self.type, "string")

    def definition(self, module, seq):
        d = {
            "id": "%s%06d" % (ORG_PREFIX, 900000 + seq + 1000 * list(MODULE_IDS).index(module)),
            "api_name": self.api, "field_label": self.label, "display_label": self.label,
            "data_type": self.type, "json_type": self.json_type(), "length": self.length,
            "decimal_place": 2 if self.type in ("currency", "double") else None,
            "system_mandatory": self.mandatory, "read_only": self.read_only,
            "field_read_only": self.read_only, "custom_field": self.custom, "visible": True,
            "sortable": self.type not in ("multiselectpicklist", "textarea"),
            "filterable": True, "unique": {"casesensitive": False} if self.unique else {},
            "pick_list_values": [], "lookup": {}, "default_value": None,
        }
        for i, (v, extra) in enumerate(self.options):
            o = {"display_value": v, "actual_value": v, "id": "%s%06d" % (ORG_PREFIX, 950000 + seq * 20 + i),
                 "sequence_number": i + 1, "type": "used", "colour_code": None}
            o.update(extra)
            d["pick_list_values"].append(o)
        if self.lookup:
            d["lookup"] = {"module": {"api_name": self.lookup, "id": MODULE_IDS.get(self.lookup, "")},
                           "display_label": self.lookup}
        return d


def picks(*values):
    return [(v, {}) for v in values]


INDUSTRIES = picks("ASP (Application Service Provider)", "Data/Telecom OEM", "ERP (Enterprise Resource Planning)",
                   "Government/Military", "Large Enterprise", "Management ISV", "Manufacturing",
                   "Network Equipment Enterprise", "Non-management ISV", "Optical Networking", "Service Provider",
                   "Small/Medium Enterprise", "Storage Equipment", "Storage Service Provider", "Systems Integrator",
                   "Wireless Industry", "Logistics", "Food & Beverages")
LEAD_SOURCES = picks("Advertisement", "Cold Call", "Employee Referral", "External Referral", "Online Store",
                     "Partner", "Public Relations", "Sales Email Alias", "Seminar Partner", "Internal Seminar",
                     "Trade Show", "Web Download", "Web Research", "Chat")
# The seeder picks from the standard options only (the lists above, so
# seeds stay as they were); the org also added options of its own through
# the fields API, whose actual_value (a reference value) differs from the
# display_value people see (§15, KZ #205: display "East", actual "IN_East").
# Records hold and take the display_value (§15: "use display_value" in
# writes; the Node SDK checks writes against display_values); which one GET
# returns is unverified: the display_value here, as a renamed option shows.
SEED_INDUSTRIES, SEED_LEAD_SOURCES = list(INDUSTRIES), list(LEAD_SOURCES)
INDUSTRIES = INDUSTRIES + [("Computer Software", {"actual_value": "IN_Computer_Software"})]
LEAD_SOURCES = LEAD_SOURCES + [("LinkedIn", {"actual_value": "IN_LinkedIn"})]
# Stage options carry probability and forecast_type (§2 "Deal status").
STAGES = [("Qualification", 10, "Open"), ("Needs Analysis", 20, "Open"), ("Value Proposition", 40, "Open"),
          ("Id. Decision Makers", 60, "Open"), ("Proposal/Price Quote", 75, "Open"),
          ("Negotiation/Review", 90, "Open"), ("Closed Won", 100, "Closed Won"),
          ("Closed Lost", 0, "Closed Lost"), ("Closed Lost to Competition", 0, "Closed Lost")]
SEED_STAGES = list(STAGES)
# The org's own won stage, added after the standard ones (see above).
STAGES = STAGES + [("Signed (Won)", 100, "Closed Won")]
STAGE_ACTUAL = {"Signed (Won)": "IN_Signed_Won"}
STAGE_OPTIONS = [(s, {"actual_value": STAGE_ACTUAL.get(s, s), "probability": p, "forecast_type": ft,
                      "forecast_category": {"id": "%s%06d" % (ORG_PREFIX, 990000 + i),
                                            "name": "Closed" if ft == "Closed Won" else "Omitted" if ft == "Closed Lost"
                                            else "Pipeline"}})
                 for i, (s, p, ft) in enumerate(STAGES)]
STAGE_PROB = {s: p for s, p, _ in STAGES}
TIERS = picks("Bronze", "Silver", "Gold", "Platinum", "💎 Diamond")
COLOURS = picks("Teal", "Red", "Green", "Blue", "Ochre", "Magenta")


def system_fields():
    return [
        F("Owner", "Contact Owner", "ownerlookup", lookup="users"),
        F("Created_By", "Created By", "ownerlookup", "ro", lookup="users"),
        F("Modified_By", "Modified By", "ownerlookup", "ro", lookup="users"),
        F("Created_Time", "Created Time", "datetime", "ro"),
        F("Modified_Time", "Modified Time", "datetime", "ro"),
        F("Last_Activity_Time", "Last Activity Time", "datetime", "ro"),
        F("Tag", "Tag", "text", "ro"),
        F("Record_Image", "Record Image", "profileimage", "ro"),
        F("Locked__s", "Locked", "boolean", "ro"),
        F("Change_Log_Time__s", "Change Log Time", "datetime", "ro"),
    ]


CONTACT_FIELDS = system_fields() + [
    F("Lead_Source", "Lead Source", "picklist", options=LEAD_SOURCES),
    F("Salutation", "Salutation", "picklist", options=picks("Mr.", "Mrs.", "Ms.", "Dr.", "Prof.")),
    F("First_Name", "First Name", "text", length=40),
    F("Last_Name", "Last Name", "text", "req", length=80),
    F("Full_Name", "Full Name", "text", "ro"),
    F("Account_Name", "Account Name", "lookup", lookup="Accounts"),
    F("Vendor_Name", "Vendor Name", "lookup", lookup="Vendors"),
    F("Email", "Email", "email", "unique", length=100),
    F("Secondary_Email", "Secondary Email", "email", length=100),
    F("Title", "Title", "text", length=100),
    F("Department", "Department", "text", length=30),
    F("Phone", "Phone", "phone", length=30),
    F("Home_Phone", "Home Phone", "phone", length=30),
    F("Other_Phone", "Other Phone", "phone", length=30),
    F("Fax", "Fax", "phone", length=30),
    F("Mobile", "Mobile", "phone", length=30),
    F("Assistant", "Assistant", "text", length=20),
    F("Asst_Phone", "Asst Phone", "phone", length=30),
    F("Date_of_Birth", "Date of Birth", "date"),
    F("Reporting_To", "Reporting To", "lookup", lookup="Contacts"),
    F("Email_Opt_Out", "Email Opt Out", "boolean"),
    F("Skype_ID", "Skype ID", "text", length=50),
    F("Twitter", "Twitter", "text", length=50),
    F("Mailing_Street", "Mailing Street", "text", length=250),
    F("Mailing_City", "Mailing City", "text", length=100),
    F("Mailing_State", "Mailing State", "text", length=100),
    F("Mailing_Zip", "Mailing Zip", "text", length=30),
    F("Mailing_Country", "Mailing Country", "text", length=100),
    F("Other_Street", "Other Street", "text", length=250),
    F("Other_City", "Other City", "text", length=100),
    F("Other_State", "Other State", "text", length=100),
    F("Other_Zip", "Other Zip", "text", length=30),
    F("Other_Country", "Other Country", "text", length=100),
    F("Description", "Description", "textarea", length=32000),
    F("Unsubscribed_Mode", "Unsubscribed Mode", "picklist", "ro", options=picks("Consent form", "Manual", "Unsubscribe link", "Zoho campaigns")),
    F("Unsubscribed_Time", "Unsubscribed Time", "datetime", "ro"),
    F("Enrich_Status__s", "Enrich Status", "picklist", "ro", options=picks("Available", "Enriched", "Data not found")),
    F("Last_Enriched_Time__s", "Last Enriched Time", "datetime", "ro"),
    F("Data_Processing_Basis", "Data Processing Basis", "picklist", options=picks("Contract", "Legitimate Interests", "Obtained consent", "Not Applicable")),
    F("Data_Source", "Data Source", "picklist", "ro", options=picks("API", "Web", "Import")),
    F("Connected_To__s", "Connected To", "text", "ro"),
    F("Layout", "Layout", "text", "ro"),
    # custom fields (API name = label with spaces as _, §7)
    F("Customer_Tier", "Customer Tier", "picklist", "custom", options=TIERS),
    F("Favourite_Colours", "Favourite Colours", "multiselectpicklist", "custom", options=COLOURS),
    F("Loyalty_Points", "Loyalty Points", "integer", "custom"),
    F("Last_Survey_At", "Last Survey At", "datetime", "custom"),
    F("Preferred_Language", "Preferred Language", "text", "custom", length=40),
    F("Newsletter", "Newsletter", "boolean", "custom"),
    F("Lifetime_Value", "Lifetime Value", "currency", "custom"),
    F("Nickname", "Nickname", "text", "custom", length=60),
    F("Region", "Region", "picklist", "custom", options=picks("EMEA", "AMER", "APAC")),
    F("Referral_Code", "Referral Code", "text", "custom unique", length=20),
    F("Shoe_Size", "Shoe Size", "double", "custom"),
]

ACCOUNT_FIELDS = system_fields() + [
    F("Account_Name", "Account Name", "text", "req unique", length=200),
    F("Account_Number", "Account Number", "bigint"),
    F("Account_Site", "Account Site", "text", length=30),
    F("Parent_Account", "Parent Account", "lookup", lookup="Accounts"),
    F("Account_Type", "Account Type", "picklist", options=picks("Analyst", "Competitor", "Customer", "Distributor",
                                                                  "Integrator", "Investor", "Partner", "Press",
                                                                  "Prospect", "Reseller", "Other")),
    F("Industry", "Industry", "picklist", options=INDUSTRIES),
    F("Annual_Revenue", "Annual Revenue", "currency"),
    F("Rating", "Rating", "picklist", options=picks("Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down")),
    F("Phone", "Phone", "phone", length=30),
    F("Fax", "Fax", "phone", length=30),
    F("Website", "Website", "website", length=255),
    F("Ticker_Symbol", "Ticker Symbol", "text", length=30),
    F("Ownership", "Ownership", "picklist", options=picks("Other", "Private", "Public", "Subsidiary", "Partnership", "Government")),
    F("Employees", "Employees", "integer"),
    F("SIC_Code", "SIC Code", "integer"),
    F("Billing_Street", "Billing Street", "text", length=250),
    F("Billing_City", "Billing City", "text", length=30),
    F("Billing_State", "Billing State", "text", length=30),
    F("Billing_Code", "Billing Code", "text", length=30),
    F("Billing_Country", "Billing Country", "text", length=30),
    F("Shipping_Street", "Shipping Street", "text", length=250),
    F("Shipping_City", "Shipping City", "text", length=30),
    F("Shipping_State", "Shipping State", "text", length=30),
    F("Shipping_Code", "Shipping Code", "text", length=30),
    F("Shipping_Country", "Shipping Country", "text", length=30),
    F("Description", "Description", "textarea", length=32000),
    F("Region", "Region", "picklist", "custom", options=picks("EMEA", "AMER", "APAC")),
    F("Customer_Since", "Customer Since", "date", "custom"),
]

LEAD_FIELDS = system_fields() + [
    F("Company", "Company", "text", "req", length=200),
    F("First_Name", "First Name", "text", length=40),
    F("Last_Name", "Last Name", "text", "req", length=80),
    F("Full_Name", "Full Name", "text", "ro"),
    F("Salutation", "Salutation", "picklist", options=picks("Mr.", "Mrs.", "Ms.", "Dr.", "Prof.")),
    F("Designation", "Title", "text", length=100),
    F("Email", "Email", "email", "unique", length=100),
    F("Secondary_Email", "Secondary Email", "email", length=100),
    F("Phone", "Phone", "phone", length=30),
    F("Fax", "Fax", "phone", length=30),
    F("Mobile", "Mobile", "phone", length=30),
    F("Website", "Website", "website"),
    F("Lead_Source", "Lead Source", "picklist", options=LEAD_SOURCES),
    F("Lead_Status", "Lead Status", "picklist", options=picks(
        "Attempted to Contact", "Contact in Future", "Contacted", "Junk Lead", "Lost Lead", "Not Contacted",
        "Pre-Qualified", "Not Qualified")),
    F("Industry", "Industry", "picklist", options=INDUSTRIES),
    F("No_of_Employees", "No. of Employees", "integer"),
    F("Annual_Revenue", "Annual Revenue", "currency"),
    F("Rating", "Rating", "picklist", options=picks("Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down")),
    F("Email_Opt_Out", "Email Opt Out", "boolean"),
    F("Skype_ID", "Skype ID", "text"),
    F("Twitter", "Twitter", "text"),
    F("Street", "Street", "text", length=250),
    F("City", "City", "text", length=100),
    F("State", "State", "text", length=100),
    F("Zip_Code", "Zip Code", "text", length=30),
    F("Country", "Country", "text", length=100),
    F("Description", "Description", "textarea", length=32000),
    F("Converted__s", "Converted", "boolean", "ro"),
    F("Converted_Date_Time", "Converted Date Time", "datetime", "ro"),
    F("Converted_Contact", "Converted Contact", "lookup", "ro", lookup="Contacts"),
    F("Converted_Account", "Converted Account", "lookup", "ro", lookup="Accounts"),
    F("Converted_Deal", "Converted Deal", "lookup", "ro", lookup="Deals"),
    F("Unsubscribed_Mode", "Unsubscribed Mode", "picklist", "ro", options=picks("Manual", "Unsubscribe link")),
    F("Unsubscribed_Time", "Unsubscribed Time", "datetime", "ro"),
    F("Lead_Score", "Lead Score", "integer", "custom"),
    F("Interest", "Interest", "multiselectpicklist", "custom", options=picks("Platform", "Onboarding", "Support")),
]

DEAL_FIELDS = system_fields() + [
    F("Deal_Name", "Deal Name", "text", "req", length=120),
    F("Amount", "Amount", "currency"),
    F("Currency", "Currency", "picklist", options=picks("USD", "EUR", "GBP", "DKK", "INR")),
    F("Exchange_Rate", "Exchange Rate", "double", "ro"),
    F("Closing_Date", "Closing Date", "date"),
    F("Pipeline", "Pipeline", "picklist", options=picks("Standard (Standard)", "Renewals")),
    F("Stage", "Stage", "picklist", "req", options=STAGE_OPTIONS),
    F("Type", "Type", "picklist", options=picks("Existing Business", "New Business")),
    F("Probability", "Probability (%)", "integer"),
    F("Expected_Revenue", "Expected Revenue", "currency", "ro"),
    F("Next_Step", "Next Step", "text", length=100),
    F("Lead_Source", "Lead Source", "picklist", options=LEAD_SOURCES),
    F("Account_Name", "Account Name", "lookup", lookup="Accounts"),
    F("Contact_Name", "Contact Name", "lookup", lookup="Contacts"),
    F("Campaign_Source", "Campaign Source", "lookup", lookup="Campaigns"),
    F("Reason_For_Loss__s", "Reason For Loss", "picklist", options=picks("Price", "Competition", "No budget", "Timing")),
    F("Description", "Description", "textarea", length=32000),
    F("Deal_Source", "Deal Source", "picklist", "custom", options=picks("Website", "Referral", "Partner", "Trade show")),
    F("Renewal_Date", "Renewal Date", "date", "custom"),
]

CAMPAIGN_FIELDS = system_fields() + [
    F("Campaign_Name", "Campaign Name", "text", "req", length=120),
    F("Type", "Type", "picklist", options=picks("Conference", "Webinar", "Trade Show", "Public Relations",
                                                  "Partners", "Referral Program", "Advertisement", "Banner Ads",
                                                  "Direct mail", "Email", "Telemarketing", "Others")),
    F("Status", "Status", "picklist", options=picks("Planning", "Active", "Inactive", "Complete")),
    F("Start_Date", "Start Date", "date"),
    F("End_Date", "End Date", "date"),
    F("Expected_Revenue", "Expected Revenue", "currency"),
    F("Budgeted_Cost", "Budgeted Cost", "currency"),
    F("Actual_Cost", "Actual Cost", "currency"),
    F("Expected_Response", "Expected Response", "integer"),
    F("Num_sent", "Num sent", "integer"),
    F("Parent_Campaign", "Parent Campaign", "lookup", lookup="Campaigns"),
    F("Description", "Description", "textarea", length=32000),
]

# Vendors: a standard module of the edition; never seeded, here because Contacts'
# Vendor_Name looks it up and clients (the Node SDK) fetch the fields of every
# lookup's module (§14 "Implicit field metadata").
VENDOR_FIELDS = system_fields() + [
    F("Vendor_Name", "Vendor Name", "text", "req", length=120),
    F("Phone", "Phone", "phone", length=30),
    F("Email", "Email", "email", length=100),
    F("Website", "Website", "website"),
    F("GL_Account", "GL Account", "picklist", options=picks(
        "Sales-Software", "Sales-Hardware", "Rental-Income", "Interest-Income", "Sales Software Support",
        "Sales-Other", "Interest Sales", "Service-Hardware Labor")),
    F("Category", "Category", "text", length=100),
    F("Street", "Street", "text", length=250),
    F("City", "City", "text", length=100),
    F("State", "State", "text", length=100),
    F("Zip_Code", "Zip Code", "text", length=30),
    F("Country", "Country", "text", length=100),
    F("Description", "Description", "textarea", length=32000),
]

FIELDS = {"Contacts": CONTACT_FIELDS, "Accounts": ACCOUNT_FIELDS, "Leads": LEAD_FIELDS, "Deals": DEAL_FIELDS,
          "Campaigns": CAMPAIGN_FIELDS, "Vendors": VENDOR_FIELDS}
FIELD_BY = {m: {f.api: f for f in fs} for m, fs in FIELDS.items()}
# Owner's label follows the module.
for _m, _fs in FIELDS.items():
    FIELD_BY[_m]["Owner"] = F("Owner", _m[:-1] + " Owner", "ownerlookup", lookup="users")
    _fs[0] = FIELD_BY[_m]["Owner"]
# System duplicate check (§6): unique fields first.
DEFAULT_DUP = {"Contacts": ["Email"], "Leads": ["Email"], "Accounts": ["Account_Name"], "Deals": ["Deal_Name"],
               "Campaigns": ["Campaign_Name"], "Vendors": ["Vendor_Name"]}   # Vendors: unverified
NAME_FIELD = {"Contacts": "Full_Name", "Leads": "Full_Name", "Accounts": "Account_Name", "Deals": "Deal_Name",
              "Campaigns": "Campaign_Name", "Vendors": "Vendor_Name"}
MEMBER_STATUSES = ["Planned", "Invited", "Sent", "Received", "Opened", "Responded", "Bounced", "Opted Out"]  # unverified

T = parse_time
CREATED_RANGE = (T("2025-01-01T00:00:00Z"), T("2025-12-31T23:59:59Z"))
UPDATED_RANGE = (T("2026-01-05T00:00:00Z"), T("2026-09-30T23:59:59Z"))


def sec(ms):
    return ms // 1000 * 1000


# ================================================================ errors

def zerr(status, code, message, details=None, headers=None):
    """A request-level error: bare {"code","details","message","status"} (§11)."""
    return json_response(status, {"code": code, "details": details or {}, "message": message, "status": "error"},
                         headers)


def fail(status, code, message, details=None):
    raise HttpError(zerr(status, code, message, details))


def rec_err(code, message, details):
    return {"code": code, "details": details, "message": message, "status": "error"}


# ================================================================ seeding

def seed(z, counts, seed_value):
    n_users = counts.get("users", 5)
    n_acc = counts.get("Accounts", 10)
    n_con = counts.get("Contacts", 50)
    n_deal = counts.get("Deals", 10)
    n_lead = counts.get("Leads", 5)
    n_camp = counts.get("Campaigns", 4)

    f = Fake(seed_value, "users")
    users = []
    for i in range(max(1, n_users)):
        first, last = f.first_name(), f.last_name()
        status = "active"
        if n_users >= 3 and i == n_users - 1:
            status = "disabled"
        elif n_users >= 5 and i == n_users - 2:
            status = "deleted"
        created = f.timestamp(T("2023-01-01T00:00:00Z"), T("2024-06-30T00:00:00Z"))
        updated = f.timestamp(T("2024-07-01T00:00:00Z"), T("2025-06-30T00:00:00Z"))
        uid = ORG_PREFIX + "%06d" % (100001 + i)
        users.append({
            "id": uid, "first_name": first, "last_name": last, "full_name": "%s %s" % (first, last),
            "email": "%s.%s@zylker-demo.example" % (ascii_slug(first), ascii_slug(last, "")),
            "status": status, "confirm": status != "deleted",
            "role": {"name": "CEO" if i == 0 else "Manager" if i % 3 == 1 else "Sales Rep",
                     "id": ORG_PREFIX + "%06d" % (110001 + (0 if i == 0 else 1 if i % 3 == 1 else 2))},
            "profile": {"name": "Administrator" if i == 0 else "Standard",
                        "id": ORG_PREFIX + "%06d" % (120001 + (0 if i == 0 else 1))},
            "zuid": str(71562802 + i), "time_zone": TZ_NAME if i % 2 == 0 else "Europe/Berlin",
            "language": "en_US", "locale": "en_US", "country": "IN" if i % 2 == 0 else "DE",
            "_created": sec(created), "_modified": sec(updated),
        })
    z.base_users = users
    active = [u["id"] for u in users if u["status"] == "active"] or [users[0]["id"]]

    def owner(fk):
        return fk.pick(active)

    def block_times(fk, n, size):
        return [sec(fk.timestamp(*UPDATED_RANGE)) for _ in range((n + size - 1) // size)]

    def put(rec, **kv):
        for k, v in kv.items():
            if v not in (None, ""):
                rec[k] = v
        return rec

    def base(module, num, created, updated, deleted=None):
        r = {"id": rid(module, num), "_created": sec(created), "_modified": sec(updated), "_deleted": deleted,
             "_created_by": active[0], "_modified_by": active[0], "_deleted_by": active[-1]}
        return r

    stores = {m: {} for m in FIELDS}

    # -- accounts
    f = Fake(seed_value, "accounts")
    times = block_times(f, n_acc, 5)
    accounts, names = [], set()
    for i in range(n_acc):
        num = FIRST_NUM["Accounts"] + i
        name = f.company_name()
        while name in names:
            name += " (%d)" % i
        names.add(name)
        city, state, zipc, country, region = f.city()
        domain = "%s-%d.example.com" % (ascii_slug(" ".join(name.split(" ")[:2]), "-"), num)
        created, updated = f.timestamp(*CREATED_RANGE), times[i // 5]
        deleted = sec(updated + f.int(3600_000, 20 * 86400_000)) if f.chance(0.05) else None
        r = base("Accounts", num, created, updated, deleted)
        put(r, Account_Name=name, Website="https://www." + domain, Phone=f.phone(),
            Industry=f.pick(SEED_INDUSTRIES)[0], Employees=f.pick([5, 12, 48, 150, 420, 1200, 5000]),
            Annual_Revenue=float(f.int(1, 500) * 100000) if f.chance(0.6) else None,
            Billing_Street=f.street(), Billing_City=city, Billing_State=state or None, Billing_Code=zipc,
            Billing_Country=country, Owner=owner(f),
            Account_Type=f.pick(["Customer", "Prospect", "Partner", "Customer"]),
            Description=f.pick(['Makers of "fine" widgets.\nFamily owned since 1999.',
                                "Zuverlässige Logistik für Europa — seit 1887.", None, None]),
            Region=region if f.chance(0.8) else None,
            Customer_Since=zdate(f.timestamp(T("2015-01-01T00:00:00Z"), T("2024-12-31T00:00:00Z"))) if f.chance(0.5) else None,
            Last_Activity_Time=sec(f.timestamp(created, updated)) if f.chance(0.4) else None)
        if f.chance(0.3):
            r["Shipping_Street"], r["Shipping_City"], r["Shipping_Country"] = f.street(), city, country
        stores["Accounts"][r["id"]] = r
        accounts.append(r)
    live_acc = [a for a in accounts if a["_deleted"] is None]

    # -- contacts: Modified_Time shared by blocks of 25; half of them at one instant when >= 500
    f = Fake(seed_value, "contacts")
    times = block_times(f, n_con, 25)
    big = sec(f.timestamp(*UPDATED_RANGE))
    titles = ["CTO", "CEO", "VP Sales", "Software Engineer", "Product Manager", "Marketing Director",
              "Head of Operations", "Account Executive", "CFO", None]
    contacts = []
    for i in range(n_con):
        num = FIRST_NUM["Contacts"] + i
        first, last = f.first_name(), f.last_name()
        acc = f.pick(live_acc) if live_acc and f.chance(0.85) else None
        domain = acc["Website"].split("www.", 1)[1] if acc else f.pick(["gmail.com", "outlook.example"])
        created = f.timestamp(*CREATED_RANGE)
        updated = big if (n_con >= 500 and 250 <= i < 250 + n_con // 2) else times[i // 25]
        deleted = sec(updated + f.int(3600_000, 20 * 86400_000)) if f.chance(0.04) else None
        city, state, zipc, country, region = f.city()
        r = base("Contacts", num, created, updated, deleted)
        put(r, First_Name=first if f.chance(0.95) else None, Last_Name=last,
            Email="%s.%s.%d@%s" % (ascii_slug(first), ascii_slug(last, ""), num, domain),
            Title=f.pick(titles), Phone=f.phone() if f.chance(0.8) else None,
            Mobile=f.phone() if f.chance(0.3) else None, Home_Phone=f.phone() if f.chance(0.05) else None,
            Account_Name=acc["id"] if acc else None, Owner=owner(f),
            Mailing_Street=f.street() if f.chance(0.7) else None, Mailing_City=city,
            Mailing_State=state or None, Mailing_Zip=zipc, Mailing_Country=country,
            Lead_Source=f.pick(SEED_LEAD_SOURCES)[0] if f.chance(0.5) else None,
            Customer_Tier=f.pick(TIERS)[0] if f.chance(0.4) else None,
            Favourite_Colours=sorted({f.pick(COLOURS)[0] for _ in range(f.int(1, 2))}) if f.chance(0.3) else None,
            Loyalty_Points=f.int(0, 5000) if f.chance(0.5) else None,
            Last_Survey_At=sec(f.timestamp(T("2025-06-01T00:00:00Z"), T("2026-06-01T00:00:00Z"))) if f.chance(0.3) else None,
            Preferred_Language=f.pick(["Dansk", "Deutsch", "Français", "日本語", "English"]) if f.chance(0.3) else None,
            Newsletter=f.chance(0.5) if f.chance(0.6) else None,
            Region=region if f.chance(0.6) else None,
            Secondary_Email=("%s@alt-mail.example" % ascii_slug(first + " " + last)) if f.chance(0.05) else None,
            Last_Activity_Time=sec(f.timestamp(created, updated)) if f.chance(0.3) else None)
        stores["Contacts"][r["id"]] = r
        contacts.append(r)
    live_con = [c for c in contacts if c["_deleted"] is None]

    # -- deals
    f = Fake(seed_value, "deals")
    times = block_times(f, n_deal, 5)
    products = ["Platform licence", "Onboarding", "Support renewal", "Expansion — Nordics", "Pilot"]
    for i in range(n_deal):
        num = FIRST_NUM["Deals"] + i
        acc = f.pick(live_acc) if live_acc and f.chance(0.9) else None
        stage = f.pick(SEED_STAGES)[0]
        created, updated = f.timestamp(*CREATED_RANGE), times[i // 5]
        deleted = sec(updated + f.int(3600_000, 20 * 86400_000)) if f.chance(0.05) else None
        r = base("Deals", num, created, updated, deleted)
        amount = f.pick([float(f.int(1, 200) * 500), f.int(100, 99999) + f.int(0, 99) / 100.0])
        con = f.pick(live_con) if live_con and f.chance(0.5) else None
        put(r, Deal_Name="%s — %s" % (acc["Account_Name"] if acc else "Direct", f.pick(products)),
            Amount=amount if f.chance(0.9) else None, Stage=stage, Probability=STAGE_PROB[stage],
            Pipeline="Standard (Standard)", Currency=f.pick(["USD", "EUR", "GBP", "DKK"]),
            Closing_Date=zdate(f.timestamp(T("2026-01-01T00:00:00Z"), T("2027-03-31T00:00:00Z"))),
            Account_Name=acc["id"] if acc else None, Contact_Name=con["id"] if con else None, Owner=owner(f),
            Type=f.pick(["Existing Business", "New Business"]),
            Description="Multi-line\nnotes with \"quotes\" and ünïcödé" if f.chance(0.2) else None,
            Deal_Source=f.pick(["Website", "Referral", "Partner", "Trade show"]) if f.chance(0.5) else None)
        stores["Deals"][r["id"]] = r

    # -- leads (a fifth converted: hidden from GET /Leads unless converted=both, §2)
    f = Fake(seed_value, "leads")
    times = block_times(f, n_lead, 5)
    statuses = [v for v, _ in FIELD_BY["Leads"]["Lead_Status"].options]
    for i in range(n_lead):
        num = FIRST_NUM["Leads"] + i
        first, last = f.first_name(), f.last_name()
        company = f.company_name()
        created, updated = f.timestamp(*CREATED_RANGE), times[i // 5]
        deleted = sec(updated + f.int(3600_000, 20 * 86400_000)) if f.chance(0.05) else None
        city, state, zipc, country, region = f.city()
        r = base("Leads", num, created, updated, deleted)
        put(r, First_Name=first, Last_Name=last, Company=company,
            Email="%s.%s.%d@lead-mail.example" % (ascii_slug(first), ascii_slug(last, ""), num),
            Designation=f.pick(titles), Phone=f.phone() if f.chance(0.7) else None,
            Lead_Source=f.pick(SEED_LEAD_SOURCES)[0], Lead_Status=f.pick(statuses), Owner=owner(f),
            City=city, Country=country, Street=f.street() if f.chance(0.5) else None, Zip_Code=zipc,
            State=state or None, No_of_Employees=f.pick([3, 20, 80, 400]) if f.chance(0.5) else None,
            Lead_Score=f.int(0, 100) if f.chance(0.6) else None)
        r["Converted__s"] = False
        if deleted is None and live_con and i % 5 == 4:
            r["Converted__s"] = True
            r["Converted_Date_Time"] = sec(updated)
            c = f.pick(live_con)
            r["Converted_Contact"] = c["id"]
            if c.get("Account_Name"):
                r["Converted_Account"] = c["Account_Name"]
            r["Lead_Status"] = "Pre-Qualified"
        stores["Leads"][r["id"]] = r

    # -- campaigns: members through the Contacts and Leads related lists (§8)
    f = Fake(seed_value, "campaigns")
    cnames = ["Spring webinar — Zürich", "Trade show 2025 (Kraków)", "Newsletter: Zoë's picks", "Empty campaign"]
    members = {}
    live_leads = [l for l in stores["Leads"].values() if l["_deleted"] is None and not l["Converted__s"]]
    for i in range(n_camp):
        num = FIRST_NUM["Campaigns"] + i
        created = f.timestamp(*CREATED_RANGE)
        r = base("Campaigns", num, created, created + 86400_000)
        put(r, Campaign_Name=cnames[i] if i < len(cnames) else "Campaign %d" % (i + 1),
            Type=f.pick(["Webinar", "Trade Show", "Email", "Conference"]),
            Status=f.pick(["Planning", "Active", "Complete"]), Owner=owner(f),
            Start_Date=zdate(created), End_Date=zdate(created + 30 * 86400_000))
        stores["Campaigns"][r["id"]] = r
        empty = i == 3 or r["Campaign_Name"].startswith("Empty")
        m = {"Contacts": {}, "Leads": {}}
        if not empty:
            for c in live_con:
                if f.chance(0.15):
                    m["Contacts"][c["id"]] = f.pick(MEMBER_STATUSES)
            for l in live_leads:
                if f.chance(0.3):
                    m["Leads"][l["id"]] = f.pick(MEMBER_STATUSES)
        members[r["id"]] = m
    z.base_stores = stores
    z.base_members = members


# ================================================================ provider

class Zoho:
    name = "zoho"

    def __init__(self, options):
        self.clock = options.clock
        self.enforce = options.rate_limits != "off"
        self.lock = threading.RLock()
        self.flight_lock = threading.Lock()
        self.in_flight = 0
        counts = {}
        for k, v in (options.records or {}).items():
            name = SEED_ALIASES.get(k, k)
            if name not in FIELDS and name != "users":
                raise ValueError("zoho: unknown object %r in --records (known: contacts, accounts, deals, "
                                 "leads, users, campaigns)" % k)
            counts[name] = v
        seed(self, counts, options.seed)
        licensed = len(self.base_users)
        self.credit_limit = options.daily_limit or (CREDITS_BASE + CREDITS_PER_USER * licensed)
        self.concurrency = options.burst or CONCURRENCY
        self.router = Router()
        self._routes()
        self.reset()

    def credentials(self, url):
        return "ZOHO_ACCESS_TOKEN=%s" % DEMO_TOKEN

    def reset(self):
        with self.lock:
            self.stores = {m: {k: dict(v) for k, v in recs.items()} for m, recs in self.base_stores.items()}
            self.members = {k: {"Contacts": dict(v["Contacts"]), "Leads": dict(v["Leads"])}
                            for k, v in self.base_members.items()}
            self.users = [dict(u) for u in self.base_users]
            self.next_num = {m: FIRST_NUM[m] + len(self.base_stores[m]) for m in FIELDS}
            self.tokens = {}          # OAuth access token -> {"expires_ms", "expired"}
            self.credits = collections.deque()   # (monotonic time, credits)
            self.credits_used = 0

    # ------------------------------------------------------------ plumbing
    def now(self):
        return sec(self.clock.now_ms())

    def user(self, uid):
        for u in self.users:
            if u["id"] == uid:
                return u
        return None

    def current_user(self):
        return self.users[0]

    def body(self, req):
        try:
            b = req.json()
        except BadJson as e:
            fail(400, "INVALID_DATA", "the input body is not a valid JSON (line %d, column %d)" % (e.line, e.col))
        if not isinstance(b, dict):
            fail(400, "INVALID_DATA", "the input body must be a JSON object")
        return b

    def module(self, name):
        if name not in FIELDS:
            fail(400, "INVALID_MODULE", "the module name given seems to be invalid", {})
        return self.stores[name]

    def raw_arg(self, req, name):
        """A query value decoded without turning '+' into a space: the Node SDK
        leaves '+' of offsets unescaped (§4 Search)."""
        for part in (req.raw_query or "").split("&"):
            k, eq, v = part.partition("=")
            if eq and urllib.parse.unquote(k) == name:
                return urllib.parse.unquote(v)
        return None

    def int_arg(self, req, name, default, lo, hi):
        v = req.arg(name)
        if v is None or v == "":
            return default
        try:
            n = int(v)
        except ValueError:
            fail(400, "INVALID_DATA", "invalid data", {"param": name, "expected_data_type": "integer"})
        if n < lo or n > hi:
            fail(400, "INVALID_DATA", "invalid data", {"param": name, "minimum": lo, "maximum": hi})
        return n

    # --------------------------------------------------------- credits (§10)
    def credits_left(self):
        now = time.monotonic()
        while self.credits and self.credits[0][0] <= now - CREDITS_WINDOW_S:
            self.credits_used -= self.credits.popleft()[1]
        return max(0, self.credit_limit - self.credits_used)

    def spend(self, n):
        self.credits.append((time.monotonic(), n))
        self.credits_used += n

    def credit_headers(self):
        # Sent only once half the credits are used (§10).
        if self.credits_used * 2 >= self.credit_limit:
            return [("X-API-CREDITS-REMAINING", str(self.credits_left()))]
        return []

    def credits_exhausted(self):
        return zerr(429, "TOO_MANY_REQUESTS", MSG_CREDITS, {}, [("X-API-CREDITS-REMAINING", "0")])

    def too_many(self):
        return zerr(429, "TOO_MANY_REQUESTS", MSG_CONCURRENCY, {})

    @staticmethod
    def cost(req):
        """Credits of a call: 1, writes 1 per 10 records (§10)."""
        if req.method in ("POST", "PUT") and req.body and not req.path.startswith("/oauth"):
            try:
                data = json.loads(req.body).get("data")
                if isinstance(data, list) and data:
                    return max(1, math.ceil(len(data) / 10))
            except (ValueError, AttributeError, UnicodeDecodeError):
                pass
        return 1

    # ------------------------------------------------------------ auth (§1)
    @staticmethod
    def token_of(req):
        auth = (req.header("Authorization") or "").strip()
        for prefix in ("Zoho-oauthtoken ", "Bearer "):
            if auth[:len(prefix)].lower() == prefix.lower():
                return auth[len(prefix):].strip()
        return None

    def invalid_token(self):
        return zerr(401, "INVALID_TOKEN", "invalid oauth token")

    def auth_failure(self, token):
        if token is None:
            return zerr(401, "AUTHENTICATION_FAILURE", "Authentication failed")
        if token == DEMO_TOKEN:
            return None
        info = self.tokens.get(token)
        if info is None or info["expired"] or self.clock.now_ms() >= info["expires_ms"]:
            return self.invalid_token()
        return None

    # One request: route, authenticate, count credits and concurrency, run.
    def handle(self, req):
        path = req.path[:-1] if len(req.path) > 1 and req.path.endswith("/") else req.path
        fn, groups = self.router.match(req.method, path)
        if fn is None:
            if groups:
                return zerr(405, "METHOD_NOT_ALLOWED", "the http request method type is not a valid one")
            return zerr(404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")
        if getattr(fn, "public", False):
            with self.lock:
                return self._run(fn, req, groups)
        with self.flight_lock:
            self.in_flight += 1
            busy = self.in_flight
        try:
            with self.lock:
                bad = self.auth_failure(self.token_of(req))
                if bad is not None:
                    return bad
                if self.enforce and busy > self.concurrency:
                    return self.too_many()
                n = self.cost(req)
                if self.enforce and self.credits_left() < n:
                    return self.credits_exhausted()
                self.spend(n)
                resp = self._run(fn, req, groups)
                resp.headers.extend(self.credit_headers())
                return resp
        finally:
            with self.flight_lock:
                self.in_flight -= 1

    def _run(self, fn, req, groups):
        try:
            return fn(req, *groups)
        except HttpError as e:
            return e.response
        except (AttributeError, TypeError, KeyError, ValueError) as e:
            return zerr(400, "INVALID_DATA", "invalid data (%s)" % type(e).__name__)

    # ------------------------------------------------------ control API hooks
    def fault_response(self, req, status, rule):
        if status == 429:
            if rule.get("credits"):
                return self.credits_exhausted()
            return self.too_many()
        if status == 401:
            return self.invalid_token()
        if status == 403:
            return zerr(403, "NO_PERMISSION", "permission denied", {"permissions": ["Crm_Implied_Api_Access"]})
        if status == 400:
            return zerr(400, "INVALID_DATA", "invalid data")
        if status in (502, 503, 504):   # the gateway's page, not JSON (§11)
            return core.raw_response(status, "<html><head><title>%d</title></head><body><h1>Service Unavailable"
                                     "</h1><p>Zoho CRM is under maintenance.</p></body></html>" % status,
                                     "text/html;charset=utf-8")
        return zerr(status, "INTERNAL_ERROR", "Internal Server Error")

    def expire_token(self, req):
        with self.lock:
            info = self.tokens.get(self.token_of(req) or "")
            if info is not None:
                info["expired"] = True
            return self.invalid_token()

    def redact_path(self, path):
        return path

    def records(self, obj):
        name = SEED_ALIASES.get(obj, obj)
        with self.lock:
            if name == "users":
                return [self.user_json(u) for u in self.users]
            if name == "org":
                return self.org_json()
            if name == "members":
                return [{"campaign": k, "Contacts": v["Contacts"], "Leads": v["Leads"]} for k, v in self.members.items()]
            if name not in FIELDS:
                return None
            out = []
            for r in sorted(self.stores[name].values(), key=lambda x: x["id"]):
                d = self.render(name, r, [f.api for f in FIELDS[name]])
                d["$deleted"] = r["_deleted"] is not None
                if r["_deleted"] is not None:
                    d["$deleted_time"] = zt(r["_deleted"])
                out.append(d)
            return out

    def touch(self, obj, body):
        """Server-side change: {"ids": [...], "fields": {...}, "Modified_Time"?: ISO, "deleted"?: bool}."""
        name = SEED_ALIASES.get(obj, obj)
        with self.lock:
            if name not in FIELDS:
                return None
            when = sec(parse_time(body["Modified_Time"])) if body.get("Modified_Time") else self.now()
            touched = []
            for ident in body.get("ids") or []:
                r = self.stores[name].get(str(ident))
                if r is None:
                    continue
                for k, v in (body.get("fields") or {}).items():
                    if v is None:
                        r.pop(k, None)
                    elif FIELD_BY[name].get(k) and FIELD_BY[name][k].type in ("lookup", "ownerlookup") and isinstance(v, dict):
                        r[k] = str(v.get("id"))
                    else:
                        r[k] = v
                r["_modified"] = when
                if "deleted" in body:
                    r["_deleted"] = when if body["deleted"] else None
                touched.append(r["id"])
            return {"touched": touched, "Modified_Time": zt(when)}

    # ================================================================ routes
    def _routes(self):
        r = self.router
        v = r"/crm/v[2-8](?:\.\d)?"

        def public(fn):
            fn.__func__.public = True
            return fn

        r.add("POST", r"/oauth/v2/token", public(self.oauth_token))
        r.add("GET", v + r"/org", self.org)
        r.add("GET", v + r"/users", self.users_list)
        r.add("GET", v + r"/users/(\d+)", self.user_get)
        r.add("GET", v + r"/settings/fields", self.fields_list)
        r.add("GET", v + r"/settings/fields/(\d+)", self.field_get)
        r.add("GET", v + r"/settings/modules", self.modules_list)
        r.add("GET", v + r"/settings/related_lists", self.related_lists)
        r.add("GET", v + r"/([A-Za-z_]+)/deleted", self.deleted_list)
        r.add("GET", v + r"/([A-Za-z_]+)/search", self.search)
        r.add("POST", v + r"/coql", self.coql)
        r.add("GET", v + r"/([A-Za-z_]+)/actions/count", self.count)
        r.add("POST", v + r"/([A-Za-z_]+)/upsert", self.upsert)
        r.add("GET", v + r"/([A-Za-z_]+)", self.list_records)
        r.add("POST", v + r"/([A-Za-z_]+)", self.insert)
        r.add("PUT", v + r"/([A-Za-z_]+)", self.update)
        r.add("DELETE", v + r"/([A-Za-z_]+)", self.delete_many)
        r.add("GET", v + r"/([A-Za-z_]+)/(\d+)", self.get_record)
        r.add("PUT", v + r"/([A-Za-z_]+)/(\d+)", self.update_one)
        r.add("DELETE", v + r"/([A-Za-z_]+)/(\d+)", self.delete_one)
        r.add("GET", v + r"/Campaigns/(\d+)/(Contacts|Leads)", self.related_get)
        r.add("PUT", v + r"/Campaigns/(\d+)/(Contacts|Leads)", self.related_put)
        r.add("DELETE", v + r"/Campaigns/(\d+)/(Contacts|Leads)", self.related_delete)
        r.add("PUT", v + r"/Campaigns/(\d+)/(Contacts|Leads)/(\d+)", self.related_put_one)
        r.add("DELETE", v + r"/Campaigns/(\d+)/(Contacts|Leads)/(\d+)", self.related_delete_one)

    # ================================================================ OAuth (§1)
    def oauth_token(self, req):
        """Form body, query parameters (Airbyte, Singer) or multipart (Node SDK);
        errors come as HTTP 200 bodies without access_token."""
        params = {k: v[0] for k, v in req.query.items()}
        ctype = (req.header("Content-Type") or "").lower()
        if "multipart/form-data" in ctype:
            params.update(parse_multipart(req.body, ctype))
        elif req.body:
            params.update(req.form_fields())
        gt = params.get("grant_type")
        if params.get("client_id") != CLIENT_ID or params.get("client_secret") != CLIENT_SECRET:
            return json_response(200, {"error": "invalid_client"})
        if gt == "refresh_token":
            if params.get("refresh_token") != REFRESH_TOKEN:
                return json_response(200, {"error": "invalid_code"})
        elif gt == "authorization_code":
            if params.get("code") != GRANT_CODE:
                return json_response(200, {"error": "invalid_code"})
        else:
            return json_response(200, {"error": "unsupported_grant_type"})
        token = "1000.%s.%s" % (secrets.token_hex(16), secrets.token_hex(16))
        self.tokens[token] = {"expires_ms": self.clock.now_ms() + TOKEN_TTL_S * 1000, "expired": False}
        # api_domain: this emulator (a real Zoho host would send the Node SDK to that DC, §14).
        host = req.header("Host") or "127.0.0.1"
        out = {"access_token": token, "scope": "ZohoCRM.modules.ALL ZohoCRM.settings.ALL ZohoCRM.users.READ ZohoCRM.org.READ",
               "api_domain": "http://" + host, "token_type": "Bearer", "expires_in": TOKEN_TTL_S}
        if gt == "authorization_code":
            out["refresh_token"] = REFRESH_TOKEN
        return json_response(200, out)

    # ================================================================ org, users (§9)
    def org_json(self):
        return [{
            "id": ORG_PREFIX + "000001", "company_name": "Zylker Nordic AS", "alias": None,
            "domain_name": "org" + ZGID, "zgid": ZGID, "primary_zuid": "71562802",
            "primary_email": self.users[0]["email"], "time_zone": TZ_NAME, "currency": "US Dollar",
            "iso_code": "USD", "currency_locale": "en_US", "currency_symbol": "$", "mc_status": True,
            "country_code": "IN", "country": "India", "type": "production" if getattr(self, "account", "sandbox") == "production" else "sandbox",
            "phone": "+91 44 6744 7070",
            "license_details": {"paid": True, "paid_type": EDITION, "paid_expiry": "2027-03-31T00:00:00+05:30",
                                "trial_type": None, "trial_expiry": None,
                                "users_license_purchased": len(self.users)},
            "max_per_page": PER_PAGE_MAX, "gapps_enabled": False, "privacy_settings": True,
        }]

    def org(self, req):
        return json_response(200, {"org": self.org_json()})

    def user_json(self, u):
        d = {k: v for k, v in u.items() if not k.startswith("_")}
        d["Created_Time"] = zt(u["_created"])
        d["Modified_Time"] = zt(u["_modified"])
        d["created_by"] = {"name": self.users[0]["full_name"], "id": self.users[0]["id"]}
        d["Modified_By"] = {"name": self.users[0]["full_name"], "id": self.users[0]["id"]}
        return d

    def users_list(self, req):
        typ = req.arg("type") or "AllUsers"
        sel = {
            "AllUsers": lambda u: True, "ActiveUsers": lambda u: u["status"] == "active",
            "DeactiveUsers": lambda u: u["status"] != "active", "ConfirmedUsers": lambda u: u["confirm"],
            "NotConfirmedUsers": lambda u: not u["confirm"],
            "ActiveConfirmedUsers": lambda u: u["status"] == "active" and u["confirm"],
            "AdminUsers": lambda u: u["profile"]["name"] == "Administrator",
            "ActiveConfirmedAdmins": lambda u: u["status"] == "active" and u["profile"]["name"] == "Administrator",
            "CurrentUser": lambda u: u is self.current_user(),
        }.get(typ)
        if sel is None:
            fail(400, "INVALID_DATA", "invalid data", {"param": "type"})
        rows = [u for u in self.users if sel(u)]
        ims = self.ims(req)
        if ims is not None:
            rows = [u for u in rows if u["_modified"] >= ims]
            if not rows:
                return empty_response(304)
        page = self.int_arg(req, "page", 1, 1, 10**6)
        per = self.int_arg(req, "per_page", PER_PAGE_DEFAULT, 1, PER_PAGE_MAX)
        chunk = rows[(page - 1) * per: page * per]
        if not chunk:
            return empty_response(204)
        return json_response(200, {"users": [self.user_json(u) for u in chunk],
                                   "info": {"per_page": per, "count": len(chunk), "page": page,
                                            "more_records": page * per < len(rows)}})

    def user_get(self, req, uid):
        u = self.user(uid)
        if u is None:
            return empty_response(204)
        return json_response(200, {"users": [self.user_json(u)]})

    # ================================================================ metadata (§7)
    def fields_list(self, req):
        m = req.arg("module")
        if not m:
            fail(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "module"})
        if m not in FIELDS:
            fail(400, "INVALID_MODULE", "the module name given seems to be invalid", {"param": "module"})
        return json_response(200, {"fields": [f.definition(m, i) for i, f in enumerate(FIELDS[m])]})

    def field_get(self, req, fid):
        m = req.arg("module")
        if m not in FIELDS:
            fail(400, "INVALID_MODULE", "the module name given seems to be invalid", {"param": "module"})
        for i, f in enumerate(FIELDS[m]):
            d = f.definition(m, i)
            if d["id"] == fid:
                return json_response(200, {"fields": [d]})
        return empty_response(204)

    def modules_list(self, req):
        mods = [{"api_name": m, "module_name": m, "singular_label": m[:-1], "plural_label": m, "id": i,
                 "api_supported": True, "generated_type": "default", "creatable": True, "editable": True,
                 "deletable": True, "viewable": True} for m, i in MODULE_IDS.items()]
        return json_response(200, {"modules": mods})

    def related_lists(self, req):
        m = req.arg("module")
        if m not in FIELDS:
            fail(400, "INVALID_MODULE", "the module name given seems to be invalid", {"param": "module"})
        if m != "Campaigns":
            return empty_response(204)
        return json_response(200, {"related_lists": [
            {"id": ORG_PREFIX + "%06d" % (800001 + i), "api_name": n, "name": n, "display_label": n,
             "module": {"api_name": n, "id": MODULE_IDS[n]}, "href": "Campaigns/{id}/" + n, "type": "default",
             "visible": True, "sequence_number": i + 1} for i, n in enumerate(("Contacts", "Leads"))]})

    # ================================================================ rendering
    def lookup_json(self, f, v):
        if v is None:
            return None
        if f.type == "ownerlookup" or f.lookup == "users":
            u = self.user(v)
            return {"name": u["full_name"] if u else None, "id": v, "email": u["email"] if u else None}
        target = self.stores.get(f.lookup, {}).get(v)
        name = None
        if target is not None:
            name = self.display_name(f.lookup, target)
        return {"name": name, "id": v}

    @staticmethod
    def display_name(module, r):
        if module in ("Contacts", "Leads"):
            return " ".join(x for x in (r.get("First_Name"), r.get("Last_Name")) if x) or None
        return r.get(NAME_FIELD[module])

    def value(self, module, r, api):
        f = FIELD_BY[module].get(api)
        if api == "Created_Time":
            return zt(r["_created"])
        if api == "Modified_Time":
            return zt(r["_modified"])
        if api == "Created_By":
            return self.lookup_json(f, r["_created_by"])
        if api == "Modified_By":
            return self.lookup_json(f, r["_modified_by"])
        if api == "Full_Name":
            return self.display_name(module, r)
        if api == "Tag":
            return r.get("Tag", [])
        if api == "Locked__s":
            return False
        if api == "Expected_Revenue" and module == "Deals":
            a, p = r.get("Amount"), r.get("Probability")
            return None if a is None or p is None else round(a * p / 100.0, 2)
        v = r.get(api)
        if v is None or f is None:
            return v
        if f.type in ("lookup", "ownerlookup"):
            return self.lookup_json(f, v)
        if f.type == "datetime":
            return zt(v)
        return v

    def render(self, module, r, names):
        d = {"id": r["id"]}
        for n in names:
            d[n] = self.value(module, r, n)
        d["$approved"] = True
        d["$editable"] = True
        d["$currency_symbol"] = "$"
        d["$state"] = "save"
        return d

    # ================================================================ listing (§3, §4)
    def fields_param(self, req, module, required=True):
        names = [n for n in (self.raw_arg(req, "fields") or "").split(",") if n]
        if not names:
            if required:
                fail(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "fields"})
            return [f.api for f in FIELDS[module]]
        if len(names) > FIELDS_MAX:   # code and details unverified
            fail(400, "LIMIT_EXCEEDED", "the number of fields exceeds the limit", {"by": "fields", "limit": FIELDS_MAX})
        for n in names:
            if n != "id" and n not in FIELD_BY[module]:   # unverified: Zoho may ignore unknown names
                fail(400, "INVALID_DATA", "invalid data", {"api_name": n, "param": "fields"})
        return [n for n in names if n != "id"]

    def ims(self, req):
        h = req.header("If-Modified-Since")
        if not h:
            return None
        ms = parse_time(h.strip())
        if ms is None or not DATETIME_RX.match(h.strip()):
            fail(400, "INVALID_DATA", "invalid data", {"header": "If-Modified-Since",
                                                        "expected_data_type": "datetime"})
        return sec(ms)

    def live(self, module, req):
        rows = [r for r in self.stores[module].values() if r["_deleted"] is None]
        if module == "Leads":
            conv = (req.arg("converted") or "false").lower()
            if conv == "false":
                rows = [r for r in rows if not r.get("Converted__s")]
            elif conv == "true":
                rows = [r for r in rows if r.get("Converted__s")]
        return rows

    def page_of(self, req, rows, query_sig):
        """Pages of per_page <= 200 by `page` up to record 2,000, by `page_token` beyond (§3).
        Returns (chunk, info)."""
        per = self.int_arg(req, "per_page", PER_PAGE_DEFAULT, 1, PER_PAGE_MAX)
        token = req.arg("page_token")
        now = self.clock.now_ms()
        if token:
            try:
                t = json.loads(base64.urlsafe_b64decode(token.encode() + b"==").decode())
                offset, sig, exp = int(t["o"]), t["q"], int(t["e"])
            except (ValueError, KeyError, TypeError):
                fail(400, "INVALID_DATA", "invalid data", {"param": "page_token"})
            if exp < now:
                fail(400, "EXPIRED_VALUE", "the page token given has expired", {"param": "page_token"})
            if sig != query_sig:   # tokens are bound to their query (unverified: which parts)
                fail(400, "TOKEN_BOUND_DATA_MISMATCH", "the page token does not belong to this query",
                     {"param": "page_token"})
            page = offset // per + 1
        else:
            page = self.int_arg(req, "page", 1, 1, 10**6)
            offset = (page - 1) * per
            if page * per > DISCRETE_LIMIT:
                fail(400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                     "You can only get the first 2000 records without using page_token param", {"limit": DISCRETE_LIMIT})
        chunk = rows[offset: offset + per]
        more = offset + per < len(rows)
        info = {"per_page": per, "count": len(chunk), "page": page, "sort_by": req.arg("sort_by") or "id",
                "sort_order": req.arg("sort_order") or "desc", "more_records": more,
                "next_page_token": None, "previous_page_token": None, "page_token_expiry": None}
        if more:
            exp = now + PAGE_TOKEN_TTL_MS
            info["next_page_token"] = base64.urlsafe_b64encode(json.dumps(
                {"o": offset + per, "q": query_sig, "e": exp}).encode()).decode().rstrip("=")
            info["page_token_expiry"] = zt(exp)
        return chunk, info

    @staticmethod
    def sig(*parts):
        return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    def sort(self, req, rows):
        by = req.arg("sort_by") or "id"
        order = req.arg("sort_order") or "desc"
        if by not in ("id", "Created_Time", "Modified_Time") or order not in ("asc", "desc"):
            fail(400, "INVALID_DATA", "invalid data", {"param": "sort_by" if by not in ("id", "Created_Time", "Modified_Time") else "sort_order"})
        key = {"id": lambda r: (r["id"],), "Created_Time": lambda r: (r["_created"], r["id"]),
               "Modified_Time": lambda r: (r["_modified"], r["id"])}[by]
        rows.sort(key=key, reverse=order == "desc")
        return by, order

    def list_records(self, req, module):
        self.module(module)
        names = self.fields_param(req, module)
        rows = self.live(module, req)
        ims = self.ims(req)
        if ims is not None:
            rows = [r for r in rows if r["_modified"] >= ims]
            if not rows:
                return empty_response(304)
        ids = [x for x in (req.arg("ids") or "").split(",") if x]
        if ids:
            if len(ids) > WRITE_MAX:
                fail(400, "LIMIT_EXCEEDED", "the number of ids exceeds the limit", {"by": "ids", "limit": WRITE_MAX})
            want = set(ids)
            rows = [r for r in rows if r["id"] in want]
        by, order = self.sort(req, rows)
        chunk, info = self.page_of(req, rows, self.sig(module, ims, by, order, req.arg("converted"), sorted(ids)))
        if not chunk:
            return empty_response(204)
        return json_response(200, {"data": [self.render(module, r, names) for r in chunk], "info": info})

    def get_record(self, req, module, ident):
        self.module(module)
        r = self.stores[module].get(ident)
        if r is None or r["_deleted"] is not None:
            return empty_response(204)
        names = self.fields_param(req, module, required=False)
        return json_response(200, {"data": [self.render(module, r, names)]})

    def deleted_list(self, req, module):
        self.module(module)
        typ = req.arg("type") or "all"
        if typ not in ("all", "recycle", "permanent"):
            fail(400, "INVALID_DATA", "invalid data", {"param": "type"})
        if typ == "permanent":
            return empty_response(204)   # nothing is ever purged here
        rows = [r for r in self.stores[module].values() if r["_deleted"] is not None]
        ims = self.ims(req)
        if ims is not None:
            rows = [r for r in rows if r["_deleted"] >= ims]
            if not rows:
                return empty_response(304)
        rows.sort(key=lambda r: (-r["_deleted"], r["id"]))
        per = self.int_arg(req, "per_page", PER_PAGE_DEFAULT, 1, PER_PAGE_MAX)
        page = self.int_arg(req, "page", 1, 1, 10**6)
        chunk = rows[(page - 1) * per: page * per]
        if not chunk:
            return empty_response(204)
        out = []
        for r in chunk:
            du, cu = self.user(r["_deleted_by"]), self.user(r["_created_by"])
            out.append({"deleted_by": {"name": du and du["full_name"], "id": r["_deleted_by"]},
                        "id": r["id"], "display_name": self.display_name(module, r), "type": "recycle",
                        "created_by": {"name": cu and cu["full_name"], "id": r["_created_by"]},
                        "deleted_time": zt(r["_deleted"])})
        return json_response(200, {"data": out, "info": {"per_page": per, "count": len(out), "page": page,
                                                         "more_records": page * per < len(rows)}})

    def count(self, req, module):
        self.module(module)
        return json_response(200, {"count": len(self.live(module, req))})

    # ================================================================ search (§4)
    def search(self, req, module):
        self.module(module)
        names = self.fields_param(req, module, required=False)
        rows = self.live(module, req)
        crit = self.raw_arg(req, "criteria")
        if crit:
            pred, n = parse_criteria(crit)
            if n > CRITERIA_MAX:   # code unverified
                fail(400, "LIMIT_EXCEEDED", "the number of criteria exceeds the limit", {"limit": CRITERIA_MAX})
            rows = [r for r in rows if pred(lambda api, r=r: self.plain(module, r, api))]
        elif req.arg("email"):
            e = req.arg("email").lower()
            rows = [r for r in rows if any((r.get(k) or "").lower() == e for k in ("Email", "Secondary_Email"))]
        elif req.arg("phone"):
            p = req.arg("phone")
            rows = [r for r in rows if p in (r.get("Phone"), r.get("Mobile"))]
        elif req.arg("word"):
            w = req.arg("word").lower()
            rows = [r for r in rows if any(isinstance(v, str) and w in v.lower() for k, v in r.items()
                                           if not k.startswith("_"))]
        else:
            fail(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                 {"param": "criteria|email|phone|word"})
        rows.sort(key=lambda r: r["id"])
        rows = rows[:SEARCH_CAP]
        per = self.int_arg(req, "per_page", PER_PAGE_DEFAULT, 1, PER_PAGE_MAX)
        page = self.int_arg(req, "page", 1, 1, 10**6)
        if page * per > SEARCH_CAP:
            fail(400, "LIMIT_REACHED", "search results are limited to 2000 records", {"limit": SEARCH_CAP})
        chunk = rows[(page - 1) * per: page * per]
        if not chunk:
            return empty_response(204)
        return json_response(200, {"data": [self.render(module, r, names) for r in chunk],
                                   "info": {"per_page": per, "count": len(chunk), "page": page,
                                            "more_records": page * per < len(rows)}})

    def plain(self, module, r, api):
        """A value as criteria compare it: lookups by id, times in ms."""
        if api == "id":
            return r["id"]
        if api in ("Created_Time", "Modified_Time"):
            return r["_created" if api == "Created_Time" else "_modified"]
        if api == "Full_Name":
            return self.display_name(module, r)
        if api not in FIELD_BY[module]:
            fail(400, "INVALID_QUERY", "invalid query formed", {"api_name": api})
        return r.get(api)


    # ================================================================ COQL (§4, §16)
    def coql(self, req):
        """POST /crm/v8/coql {"select_query"}: select, from, where, order by, limit (§4)."""
        body = self.body(req)
        q = body.get("select_query") if isinstance(body, dict) else None
        if not isinstance(q, str) or not q.strip():
            fail(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "select_query"})
        c = Coql(q)
        module = c.module
        if module not in FIELD_BY:
            fail(400, "INVALID_QUERY", "invalid module given", {"module": module})
        for col in c.columns:
            if col != "id" and col not in FIELD_BY[module] and col not in ("Created_Time", "Modified_Time"):
                fail(400, "INVALID_QUERY", "column given seems to be invalid", {"column_name": col})
        if len(c.columns) > FIELDS_MAX:
            fail(400, "LIMIT_EXCEEDED", "the number of columns exceeds the limit", {"limit": FIELDS_MAX})
        if c.count > COQL_CRITERIA:
            fail(400, "LIMIT_EXCEEDED", "the number of criteria exceeds the limit", {"limit": COQL_CRITERIA})
        if c.limit > COQL_LIMIT or c.offset + c.limit > COQL_OFFSET_MAX:
            fail(400, "LIMIT_EXCEEDED", "limit exceeded", {"limit": COQL_LIMIT, "offset": COQL_OFFSET_MAX})
        rows = [r for r in self.stores[module].values() if r["_deleted"] is None]
        if c.where:
            rows = [r for r in rows if c.where(lambda api, r=r: self.coql_value(module, r, api))]
        for col, desc in reversed(c.order or [("id", False)]):
            rows.sort(key=lambda r, col=col: (self.coql_value(module, r, col) is None,
                                              self.coql_value(module, r, col)), reverse=desc)
        chunk = rows[c.offset: c.offset + c.limit]
        if not chunk:
            return empty_response(204)
        # COQL answers a lookup as its id only, and the id of every row.
        out = []
        for r in chunk:
            d = {"id": r["id"]}
            for col in c.columns:
                f = FIELD_BY[module].get(col)
                v = self.value(module, r, col)
                if f is not None and f.type in ("lookup", "ownerlookup") and isinstance(v, dict):
                    v = {"id": v["id"]}
                d[col] = v
            out.append(d)
        return json_response(200, {"data": out, "info": {"count": len(out),
                                                         "more_records": c.offset + c.limit < len(rows)}})

    def coql_value(self, module, r, api):
        """(kind, value) as a COQL criterion compares it; INVALID_QUERY for an unknown column."""
        if api == "id":
            return r["id"].zfill(24)
        if api in ("Created_Time", "Modified_Time"):
            return sec(r["_created" if api == "Created_Time" else "_modified"])
        f = FIELD_BY[module].get(api)
        if f is None:
            fail(400, "INVALID_QUERY", "column given seems to be invalid", {"column_name": api})
        if api == "Full_Name":
            return self.display_name(module, r)
        v = r.get(api)
        if f.type == "datetime" and isinstance(v, int):
            return sec(v)
        return v

    # ================================================================ writes (§6)
    def coerce(self, module, f, v, i):
        """Input value -> stored value, or raises _RecErr."""
        path = "$.data[%d].%s" % (i, f.api)

        def bad(expected):
            raise _RecErr(rec_err("INVALID_DATA", "invalid data",
                                  {"api_name": f.api, "json_path": path, "expected_data_type": expected}))
        if v is None or v == "" or v == []:
            return None
        t = f.type
        if t in ("text", "textarea", "picklist", "phone", "website"):
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                bad(t)
            v = str(v)
            if len(v) > f.length:
                raise _RecErr(rec_err("INVALID_DATA", "invalid data", {"api_name": f.api, "json_path": path,
                                                                       "maximum_length": f.length}))
            if t == "picklist" and f.options and v not in [o for o, _ in f.options]:
                # A value that is none of the field's display_values is
                # refused with the per-record INVALID_DATA shape (§15: what
                # Zoho does is unverified; the Node SDK refuses it before
                # sending, so a strict emulator agrees with the official
                # client).  actual_values are not accepted either (§15).
                raise _RecErr(rec_err("INVALID_DATA", "invalid data", {"api_name": f.api, "json_path": path,
                                                                       "expected_data_type": "picklist"}))
            return v
        if t == "email":
            if not isinstance(v, str) or not EMAIL_RX.match(v):
                bad("email")
            return v
        if t in ("integer", "bigint"):
            if isinstance(v, bool):
                bad(t)
            if isinstance(v, str) and re.match(r"^-?\d+$", v):
                v = int(v)
            if isinstance(v, float) and v == int(v):
                v = int(v)
            if not isinstance(v, int):
                bad(t)
            return v
        if t in ("double", "currency", "percent"):
            if isinstance(v, bool):
                bad(t)
            if isinstance(v, str) and NUMBER_RX.match(v):
                v = float(v)
            if not isinstance(v, (int, float)):
                bad(t)
            return float(v)
        if t == "boolean":
            if not isinstance(v, bool):
                bad("boolean")
            return v
        if t == "date":
            if not isinstance(v, str) or not DATE_RX.match(v):
                bad("date")
            return v
        if t == "datetime":
            if not isinstance(v, str) or not DATETIME_RX.match(v):
                bad("datetime")
            return sec(parse_time(v))
        if t in ("lookup", "ownerlookup"):
            ident = v.get("id") if isinstance(v, dict) else None
            if ident is None or not re.match(r"^\d+$", str(ident)):
                bad(t)
            ident = str(ident)
            ok = self.user(ident) if t == "ownerlookup" or f.lookup == "users" else \
                self.stores.get(f.lookup, {}).get(ident)
            if not ok or (t == "ownerlookup" and ok["status"] != "active") or \
                    (isinstance(ok, dict) and ok.get("_deleted") is not None):
                raise _RecErr(rec_err("INVALID_DATA", "the id given seems to be invalid",
                                      {"api_name": f.api, "json_path": path + ".id", "id": ident}))
            return ident
        if t == "multiselectpicklist":
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                bad("jsonarray")
            return list(v)
        bad(t)

    def clean(self, module, inp, i, current=None):
        """Validated changes {api: value} of one input record, or raises _RecErr."""
        if not isinstance(inp, dict):
            raise _RecErr(rec_err("INVALID_DATA", "invalid data", {"json_path": "$.data[%d]" % i}))
        out = {}
        for k, v in inp.items():
            f = FIELD_BY[module].get(k)
            if k == "id" or k.startswith("$") or f is None or f.read_only:
                continue   # unknown and read-only keys are ignored (unverified)
            out[k] = self.coerce(module, f, v, i)
        merged = dict(current or {})
        merged.update(out)
        for f in FIELDS[module]:
            if f.mandatory and merged.get(f.api) in (None, ""):
                if current is None or f.api in out:
                    raise _RecErr(rec_err("MANDATORY_NOT_FOUND", "required field not found",
                                          {"api_name": f.api, "json_path": "$.data[%d].%s" % (i, f.api)}))
        for f in FIELDS[module]:
            if f.unique and out.get(f.api) is not None:
                other = self.find_by(module, f.api, out[f.api])
                if other is not None and (current is None or other["id"] != current["id"]):
                    owner = self.user(other.get("Owner"))
                    raise _RecErr(rec_err("DUPLICATE_DATA", "duplicate data", {
                        "api_name": f.api, "json_path": "$.data[%d].%s" % (i, f.api),
                        "duplicate_record": {"id": other["id"], "module": {"api_name": module, "id": MODULE_IDS[module]},
                                             "Owner": {"name": owner and owner["full_name"], "id": other.get("Owner"),
                                                       "email": owner and owner["email"]}}}))
        return out

    def find_by(self, module, api, value):
        """The first live record whose unique field equals value (case-insensitive)."""
        key = value.lower() if isinstance(value, str) else value
        best = None
        for r in self.stores[module].values():
            v = r.get(api)
            if r["_deleted"] is None and v is not None and (v.lower() if isinstance(v, str) else v) == key:
                if best is None or r["id"] < best["id"]:
                    best = r
        return best

    def ok_details(self, r):
        cu, mu = self.user(r["_created_by"]), self.user(r["_modified_by"])
        return {"Modified_Time": zt(r["_modified"]), "Modified_By": {"name": mu and mu["full_name"], "id": r["_modified_by"]},
                "Created_Time": zt(r["_created"]), "id": r["id"],
                "Created_By": {"name": cu and cu["full_name"], "id": r["_created_by"]}, "$approval_state": "approved"}

    def do_insert(self, module, changes):
        now = self.now()
        num = self.next_num[module]
        self.next_num[module] += 1
        me = self.current_user()["id"]
        r = {"id": rid(module, num), "_created": now, "_modified": now, "_deleted": None,
             "_created_by": me, "_modified_by": me, "_deleted_by": me}
        for k, v in changes.items():
            if v is not None:
                r[k] = v
        if "Owner" not in r:
            r["Owner"] = me
        if module == "Leads":
            r.setdefault("Converted__s", False)
        if module == "Deals" and r.get("Stage") in STAGE_PROB and "Probability" not in changes:
            r["Probability"] = STAGE_PROB[r["Stage"]]
        self.stores[module][r["id"]] = r
        return r

    def do_update(self, module, r, changes):
        # A new Stage brings its probability unless one is given, as on
        # insert (unverified: the UI does so; §15 "Filling it from the stage").
        if module == "Deals" and changes.get("Stage") in STAGE_PROB and changes["Stage"] != r.get("Stage") \
                and "Probability" not in changes:
            changes = dict(changes, Probability=STAGE_PROB[changes["Stage"]])
        for k, v in changes.items():
            if v is None:
                r.pop(k, None)
            else:
                r[k] = v
        r["_modified"] = self.now()
        r["_modified_by"] = self.current_user()["id"]
        return r

    def write_body(self, req):
        b = self.body(req)
        data = b.get("data")
        if not isinstance(data, list) or not data:
            fail(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "data"})
        if len(data) > WRITE_MAX:
            fail(400, "LIMIT_EXCEEDED", "Cannot process more than 100 records at a time.", {"limit": WRITE_MAX})
        trig = b.get("trigger")
        if trig is not None and (not isinstance(trig, list) or any(t not in ("workflow", "approval", "blueprint") for t in trig)):
            fail(400, "INVALID_DATA", "invalid data", {"param": "trigger"})
        return b, data

    @staticmethod
    def write_reply(results, all_ok_status):
        """201/200 all ok, 207 mixed, 400 all failed (§6; the last unverified)."""
        oks = sum(1 for r in results if r["status"] == "success")
        status = all_ok_status if oks == len(results) else 207 if oks else 400
        return json_response(status, {"data": results})

    def insert(self, req, module):
        self.module(module)
        _, data = self.write_body(req)
        results = []
        for i, inp in enumerate(data):
            try:
                changes = self.clean(module, inp, i)
            except _RecErr as e:
                results.append(e.body)
                continue
            r = self.do_insert(module, changes)
            results.append({"code": "SUCCESS", "details": self.ok_details(r), "message": "record added",
                            "status": "success"})
        return self.write_reply(results, 201)

    def update(self, req, module, one_id=None):
        self.module(module)
        _, data = self.write_body(req)
        results = []
        for i, inp in enumerate(data):
            ident = one_id if one_id is not None else (str(inp.get("id")) if isinstance(inp, dict) and inp.get("id") is not None else None)
            r = self.stores[module].get(ident or "")
            if ident is None:
                results.append(rec_err("MANDATORY_NOT_FOUND", "required field not found",
                                       {"api_name": "id", "json_path": "$.data[%d].id" % i}))
                continue
            if r is None or r["_deleted"] is not None:
                results.append(rec_err("INVALID_DATA", "the id given seems to be invalid",
                                       {"api_name": "id", "json_path": "$.data[%d].id" % i, "id": ident}))
                continue
            try:
                changes = self.clean(module, inp, i, current=r)
            except _RecErr as e:
                results.append(e.body)
                continue
            self.do_update(module, r, changes)
            results.append({"code": "SUCCESS", "details": self.ok_details(r), "message": "record updated",
                            "status": "success"})
        return self.write_reply(results, 200)

    def update_one(self, req, module, ident):
        return self.update(req, module, one_id=ident)

    def upsert(self, req, module):
        self.module(module)
        b, data = self.write_body(req)
        dup = b.get("duplicate_check_fields")
        if dup is None:
            dup = DEFAULT_DUP[module]
        if not isinstance(dup, list) or len(dup) > 10 or any(d not in FIELD_BY[module] for d in dup):
            fail(400, "INVALID_DATA", "invalid data", {"api_name": "duplicate_check_fields"})
        results = []
        for i, inp in enumerate(data):
            match, field = None, None
            if isinstance(inp, dict):
                for d in dup:
                    v = inp.get(d)
                    if isinstance(v, dict):
                        v = v.get("id")
                    if v not in (None, ""):
                        match = self.find_by(module, d, str(v) if FIELD_BY[module][d].type in ("lookup", "ownerlookup") else v)
                        if match is not None:
                            field = d
                            break
            try:
                changes = self.clean(module, inp, i, current=match)
            except _RecErr as e:
                results.append(e.body)
                continue
            if match is not None:
                self.do_update(module, match, changes)
                results.append({"code": "SUCCESS", "duplicate_field": field, "action": "update",
                                "details": self.ok_details(match), "message": "record updated", "status": "success"})
            else:
                r = self.do_insert(module, changes)
                results.append({"code": "SUCCESS", "duplicate_field": None, "action": "insert",
                                "details": self.ok_details(r), "message": "record added", "status": "success"})
        return self.write_reply(results, 200)

    def delete_ids(self, module, ids):
        results = []
        me = self.current_user()["id"]
        for ident in ids:
            r = self.stores[module].get(ident)
            if r is None or r["_deleted"] is not None:
                results.append(rec_err("INVALID_DATA", "the id given seems to be invalid", {"id": ident}))
                continue
            r["_deleted"] = self.now()
            r["_deleted_by"] = me
            for m in self.members.values():
                m.get(module, {}).pop(ident, None)
            results.append({"code": "SUCCESS", "details": {"id": ident}, "message": "record deleted",
                            "status": "success"})
        return self.write_reply(results, 200)

    def delete_many(self, req, module):
        self.module(module)
        ids = [x for x in (req.arg("ids") or "").split(",") if x]
        if not ids:
            fail(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "ids"})
        if len(ids) > WRITE_MAX:
            fail(400, "LIMIT_EXCEEDED", "Cannot process more than 100 records at a time.", {"limit": WRITE_MAX})
        return self.delete_ids(module, ids)

    def delete_one(self, req, module, ident):
        self.module(module)
        return self.delete_ids(module, [ident])

    # ================================================================ Campaigns' related lists (§8)
    def campaign(self, cid):
        c = self.stores["Campaigns"].get(cid)
        if c is None or c["_deleted"] is not None:   # unverified: the status and code
            fail(400, "INVALID_DATA", "the id given seems to be invalid", {"id": cid})
        return c

    def related_get(self, req, cid, rel):
        self.campaign(cid)
        names = self.fields_param(req, rel)
        ids = list(self.members[cid][rel])
        rows = [self.stores[rel][i] for i in ids if self.stores[rel].get(i) and self.stores[rel][i]["_deleted"] is None]
        rows.sort(key=lambda r: r["id"])
        per = self.int_arg(req, "per_page", PER_PAGE_DEFAULT, 1, PER_PAGE_MAX)
        page = self.int_arg(req, "page", 1, 1, 10**6)
        chunk = rows[(page - 1) * per: page * per]
        if not chunk:
            return empty_response(204)
        out = []
        for r in chunk:
            d = self.render(rel, r, names)
            d["Member_Status"] = self.members[cid][rel][r["id"]]
            out.append(d)
        return json_response(200, {"data": out, "info": {"per_page": per, "count": len(out), "page": page,
                                                         "more_records": page * per < len(rows)}})

    def related_put(self, req, cid, rel, one=None):
        self.campaign(cid)
        _, data = self.write_body(req)
        results = []
        for i, inp in enumerate(data):
            ident = one if one is not None else (str(inp.get("id")) if isinstance(inp, dict) and inp.get("id") else None)
            r = self.stores[rel].get(ident or "")
            if r is None or r["_deleted"] is not None:
                results.append(rec_err("INVALID_DATA", "the related id given seems to be invalid",
                                       {"api_name": "id", "json_path": "$.data[%d].id" % i, "id": ident}))
                continue
            st = inp.get("Member_Status") if isinstance(inp, dict) else None
            if st is not None and st not in MEMBER_STATUSES:
                results.append(rec_err("INVALID_DATA", "invalid data", {"api_name": "Member_Status",
                                                                        "json_path": "$.data[%d].Member_Status" % i}))
                continue
            self.members[cid][rel][ident] = st or self.members[cid][rel].get(ident) or "Planned"
            results.append({"code": "SUCCESS", "details": {"id": ident}, "message": "relation updated",
                            "status": "success"})
        return self.write_reply(results, 200)

    def related_put_one(self, req, cid, rel, ident):
        return self.related_put(req, cid, rel, one=ident)

    def related_delete(self, req, cid, rel, ids=None):
        self.campaign(cid)
        if ids is None:
            ids = [x for x in (req.arg("ids") or "").split(",") if x]
        if not ids:
            fail(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "ids"})
        if len(ids) > WRITE_MAX:
            fail(400, "LIMIT_EXCEEDED", "Cannot process more than 100 records at a time.", {"limit": WRITE_MAX})
        results = []
        for ident in ids:
            r = self.stores[rel].get(ident)
            if r is None or r["_deleted"] is not None:
                results.append(rec_err("INVALID_DATA", "the related id given seems to be invalid", {"id": ident}))
                continue
            self.members[cid][rel].pop(ident, None)   # delink only: the record stays
            results.append({"code": "SUCCESS", "details": {"id": ident}, "message": "relation removed",
                            "status": "success"})
        return self.write_reply(results, 200)

    def related_delete_one(self, req, cid, rel, ident):
        return self.related_delete(req, cid, rel, ids=[ident])


class _RecErr(Exception):
    def __init__(self, body):
        super().__init__(body["code"])
        self.body = body


COQL_LIMIT = 2000
COQL_OFFSET_MAX = 100000
COQL_CRITERIA = 25
COQL_IN_MAX = 50
COQL_TOKEN_RX = re.compile(r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<num>-?\d+(?:\.\d+)?)(?![\w])|"
                           r"(?P<op><=|>=|!=|=|<|>|\(|\)|,)|(?P<word>[A-Za-z_$][\w$.]*))")


class Coql:
    """The COQL this emulator reads: select COLS from MODULE [where COND] [order by COL [asc|desc], ...]
    [limit [OFFSET,] N | limit N offset M].  Criteria are bracketed pairwise (§4): one level holds at most
    one `and`/`or`.  Operators = != < <= > >= like, not like, is [not] null, [not] in (...)."""

    def __init__(self, text):
        self.toks = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = COQL_TOKEN_RX.match(text, pos)
            if not m or m.end() == pos:
                self.syntax(pos)
            pos = m.end()
            kind = m.lastgroup
            self.toks.append((kind, m.group(kind), m.start(kind)))
        self.i = 0
        self.count = 0
        self.word("select")
        self.columns = [self.name()]
        while self.peek_op(","):
            self.i += 1
            self.columns.append(self.name())
        self.word("from")
        self.module = self.name()
        self.where = None
        self.order = []
        self.offset, self.limit = 0, 200
        if self.peek_word("where"):
            self.i += 1
            self.where = self.cond()
        if self.peek_word("order"):
            self.i += 1
            self.word("by")
            while True:
                col = self.name()
                desc = False
                if self.peek_word("asc") or self.peek_word("desc"):
                    desc = self.toks[self.i][1].lower() == "desc"
                    self.i += 1
                self.order.append((col, desc))
                if not self.peek_op(","):
                    break
                self.i += 1
        if self.peek_word("limit"):
            self.i += 1
            a = self.integer()
            if self.peek_op(","):
                self.i += 1
                self.offset, self.limit = a, self.integer()
            elif self.peek_word("offset"):
                self.i += 1
                self.limit, self.offset = a, self.integer()
            else:
                self.limit = a
        if self.i != len(self.toks):
            self.syntax(self.toks[self.i][2])

    def syntax(self, at):
        fail(400, "SYNTAX_ERROR", "error occured while parsing the query", {"column": at})

    def tok(self):
        if self.i >= len(self.toks):
            self.syntax(-1)
        t = self.toks[self.i]
        self.i += 1
        return t

    def peek_op(self, op):
        return self.i < len(self.toks) and self.toks[self.i][0] == "op" and self.toks[self.i][1] == op

    def peek_word(self, w):
        return self.i < len(self.toks) and self.toks[self.i][0] == "word" and self.toks[self.i][1].lower() == w

    def word(self, w):
        t = self.tok()
        if t[0] != "word" or t[1].lower() != w:
            self.syntax(t[2])

    def name(self):
        t = self.tok()
        if t[0] != "word":
            self.syntax(t[2])
        return t[1]

    def integer(self):
        t = self.tok()
        if t[0] != "num" or not t[1].isdigit():
            self.syntax(t[2])
        return int(t[1])

    def literal(self):
        t = self.tok()
        if t[0] == "str":
            return re.sub(r"\\(.)", r"\1", t[1][1:-1]), True
        if t[0] == "num":
            return t[1], False
        if t[0] == "word" and t[1].lower() in ("true", "false"):
            return t[1].lower(), False
        self.syntax(t[2])

    def cond(self):
        a = self.term()
        if self.peek_word("and") or self.peek_word("or"):
            conj = self.tok()[1].lower()
            b = self.term()
            if self.peek_word("and") or self.peek_word("or"):
                self.syntax(self.toks[self.i][2])   # three criteria on one level: not bracketed pairwise
            return (lambda g: a(g) and b(g)) if conj == "and" else (lambda g: a(g) or b(g))
        return a

    def term(self):
        if self.peek_op("("):
            self.i += 1
            p = self.cond()
            t = self.tok()
            if t[1] != ")":
                self.syntax(t[2])
            return p
        return self.comparison()

    def comparison(self):
        col = self.name()
        self.count += 1
        if self.peek_word("is"):
            self.i += 1
            neg = self.peek_word("not")
            if neg:
                self.i += 1
            self.word("null")
            return lambda g: (g(col) not in (None, "", [])) == neg
        neg = self.peek_word("not")
        if neg:
            self.i += 1
        if self.peek_word("like"):
            self.i += 1
            v, _ = self.literal()
            rx = re.compile("^" + ".*".join(re.escape(x) for x in v.split("%")) + "$", re.I | re.S)

            def like(g):
                x = g(col)
                if x is not None and not isinstance(x, str):
                    fail(400, "INVALID_QUERY", "data type not supported for the operator",
                         {"column_name": col, "operator": "like"})
                return x is not None and bool(rx.match(x)) != neg
            return like
        if self.peek_word("in"):
            self.i += 1
            t = self.tok()
            if t[1] != "(":
                self.syntax(t[2])
            vals = [self.literal()]
            while self.peek_op(","):
                self.i += 1
                vals.append(self.literal())
            self.tok()
            if len(vals) > COQL_IN_MAX:
                # §16: `in` takes at most 50 values (the error's shape is unverified)
                fail(400, "LIMIT_EXCEEDED", "the number of values exceeds the limit",
                     {"column_name": col, "operator": "in", "limit": COQL_IN_MAX})
            return lambda g: any(coql_cmp(col, g(col), "=", v) for v in vals) != neg
        if neg:
            self.syntax(self.toks[self.i][2] if self.i < len(self.toks) else -1)
        t = self.tok()
        if t[0] != "op" or t[1] not in ("=", "!=", "<", "<=", ">", ">="):
            self.syntax(t[2])
        op, v = t[1], self.literal()
        return lambda g: coql_cmp(col, g(col), op, v)


def coql_cmp(col, x, op, lit):
    """x (the stored value) OP the literal (text, quoted), typed by x."""
    v, quoted = lit
    if isinstance(x, dict):
        x = x.get("id")
    if isinstance(x, list):
        return any(coql_cmp(col, e, op, lit) for e in x) if op != "!=" else all(
            coql_cmp(col, e, op, lit) for e in x)
    if x is None:
        return op == "!="
    if isinstance(x, bool):
        if v not in ("true", "false"):
            fail(400, "INVALID_QUERY", "value given seems to be invalid for the column",
                 {"column_name": col, "data_type": "boolean"})
        y = v == "true"
        if op not in ("=", "!="):
            fail(400, "INVALID_QUERY", "data type not supported for the operator", {"column_name": col, "operator": op})
    elif isinstance(x, (int, float)):
        if DATETIME_RX.match(v) and quoted:
            y = sec(parse_time(v))
        elif NUMBER_RX.match(v):
            y = float(v)
        else:
            fail(400, "INVALID_QUERY", "value given seems to be invalid for the column", {"column_name": col})
    else:
        x, y = str(x).lower(), v.lower()
        if col == "id":
            y = v.zfill(24)
    return {"=": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


# ================================================================ criteria (§4)

def parse_criteria(text):
    """'((Email:equals:a@b.c)or(Last_Name:starts_with:O\\'B))' -> (predicate(get), number of conditions).
    Values escape '(', ')', ',' and '\\' with a backslash (unverified)."""
    pos = [0]
    count = [0]
    s = text

    def peek():
        return s[pos[0]] if pos[0] < len(s) else ""

    def expect(ch):
        if peek() != ch:
            fail(400, "INVALID_QUERY", "invalid query formed", {"position": pos[0]})
        pos[0] += 1

    def cond():
        start = pos[0]
        buf, esc = [], False
        while pos[0] < len(s):
            ch = s[pos[0]]
            if esc:
                buf.append(ch)
                esc = False
            elif ch == "\\":
                buf.append(ch)
                esc = True
            elif ch == ")":
                break
            else:
                buf.append(ch)
            pos[0] += 1
        raw = "".join(buf)
        parts = raw.split(":", 2)
        if len(parts) != 3:
            fail(400, "INVALID_QUERY", "invalid query formed", {"position": start})
        api, op, value = parts
        count[0] += 1
        return make_pred(api.strip(), op.strip(), value)

    def term():
        expect("(")
        if peek() == "(":
            p = expr()
        else:
            p = cond()
        expect(")")
        return p

    def expr():
        p = term()
        while True:
            rest = s[pos[0]:].lower()
            if rest.startswith("and"):
                pos[0] += 3
                q = term()
                p = (lambda a, b: lambda g: a(g) and b(g))(p, q)
            elif rest.startswith("or"):
                pos[0] += 2
                q = term()
                p = (lambda a, b: lambda g: a(g) or b(g))(p, q)
            else:
                return p

    p = expr()
    if pos[0] != len(s):
        fail(400, "INVALID_QUERY", "invalid query formed", {"position": pos[0]})
    return p, count[0]


def unescape(v):
    return re.sub(r"\\(.)", r"\1", v)


def split_values(v):
    return [unescape(x) for x in re.split(r"(?<!\\),", v)]


def make_pred(api, op, value):
    def norm(x):
        if isinstance(x, str):
            return x.lower()
        return x

    def conv(target, v):
        if isinstance(target, bool):
            return v.lower() == "true"
        if isinstance(target, (int, float)) and not isinstance(target, bool):
            t = parse_time(v) if DATETIME_RX.match(v) else None
            if t is not None:
                return sec(t)
            try:
                return float(v)
            except ValueError:
                return None
        return v.lower()

    vals = split_values(value) if op in ("in", "not_in", "between") else [unescape(value)]
    if op not in ("equals", "not_equal", "starts_with", "in", "not_in", "greater_than", "greater_equal",
                  "less_than", "less_equal", "between"):
        fail(400, "INVALID_QUERY", "invalid query formed", {"operator": op})

    def pred(get):
        x = get(api)
        if isinstance(x, list):
            xs = [norm(e) for e in x]
        else:
            xs = [norm(x)]
        for v in xs:
            cs = [conv(v, w) for w in vals] if v is not None else [w.lower() for w in vals]
            if op == "equals" and v is not None and v == cs[0]:
                return True
            if op == "not_equal" and v != cs[0]:
                return True
            if op == "starts_with" and isinstance(v, str) and v.startswith(cs[0]):
                return True
            if op == "in" and v is not None and v in cs:
                return True
            if op == "not_in" and v not in cs:
                return True
            if v is None or cs[0] is None:
                continue
            try:
                if op == "greater_than" and v > cs[0] or op == "greater_equal" and v >= cs[0] or \
                        op == "less_than" and v < cs[0] or op == "less_equal" and v <= cs[0] or \
                        op == "between" and len(cs) == 2 and cs[0] <= v <= cs[1]:
                    return True
            except TypeError:
                pass
        return False
    return pred


def parse_multipart(body, ctype):
    """multipart/form-data (the Node SDK's token call) -> {name: value}."""
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    out = {}
    if not m or not body:
        return out
    sep = ("--" + m.group(1)).encode()
    for part in body.split(sep):
        head, _, value = part.partition(b"\r\n\r\n")
        nm = re.search(rb'name="([^"]*)"', head)
        if nm:
            out[nm.group(1).decode()] = value.rstrip(b"\r\n").decode("utf-8", "replace")
    return out


def create(options):
    return Zoho(options)
