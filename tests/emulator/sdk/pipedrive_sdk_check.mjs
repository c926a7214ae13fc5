// The official Pipedrive Node client (`pipedrive` 33.7.0), unchanged, against
// the Pipedrive emulator: proves the emulator speaks the wire protocol the SDK
// expects (../../../../shared/api/pipedrive.md §14).
//
//   npm install --prefix /tmp/pdsdk pipedrive@33.7.0
//   python3 tests/emulator/run.py pipedrive --records contacts=50,accounts=10 --rate-limits off > /tmp/emu.out &
//   EMU_URL=$(sed -n '1s/listening on //p' /tmp/emu.out) PIPEDRIVE_API_TOKEN=demo \
//     PDSDK_PREFIX=/tmp/pdsdk node tests/emulator/sdk/pipedrive_sdk_check.mjs
//
// (`npm install` inside tests/emulator/sdk works too.) The SDK is configured
// the documented way: `new v1.Configuration({apiKey, basePath})` and
// `new v2.Configuration({apiKey, basePath})`, basePath = the emulator origin +
// /v1 (the SDK's own v1 default prefix) resp. /api/v2. Exits non-zero with a
// message on the first failure; prints one line per passed step.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const EMU_URL = (process.env.EMU_URL || '').replace(/\/+$/, '');
const TOKEN = process.env.PIPEDRIVE_API_TOKEN || 'demo';
const HEX40 = /^[0-9a-f]{40}$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

function fail(msg) {
  console.error(`pipedrive sdk check: FAIL: ${msg}`);
  process.exit(1);
}

function loadSdk() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const bases = [process.env.PDSDK_PREFIX, here, '/tmp/pdsdk'].filter(Boolean);
  for (const base of bases) {
    try {
      return createRequire(path.join(base, 'package.json'))('pipedrive');
    } catch (e) { /* try the next place */ }
  }
  return fail(`cannot load pipedrive from ${bases.join(', ')}; run npm install (see the header)`);
}

function check(cond, msg) { if (!cond) fail(msg); }

async function control(method, p, body) {
  const r = await fetch(`${EMU_URL}/_emulator/${p}`, {
    method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' },
  });
  return r.text();
}

async function stored(obj) {
  return (await control('GET', `records/${obj}`)).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// The SDK rejects a non-2xx that has a body with the parsed body itself
// (base.js errorInterceptor), else with an AxiosError carrying response.status.
function describe(e) {
  if (e && e.response && e.response.status) return `HTTP ${e.response.status} ${JSON.stringify(e.response.data)}`;
  if (e && typeof e === 'object' && 'success' in e) return `API error ${JSON.stringify(e)}`;
  return (e && e.stack) || String(e);
}

async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    fail(`${name}: ${describe(e)}`);
  }
  console.log(`ok   ${name}`);
}

function envelope(res, what) {
  check(res && res.success === true, `${what}: success is not true: ${JSON.stringify(res).slice(0, 300)}`);
  check('data' in res, `${what}: no data in the envelope`);
}

async function main() {
  check(EMU_URL, 'set EMU_URL to the emulator URL');
  const { v1, v2 } = loadSdk();
  const c1 = new v1.Configuration({ apiKey: TOKEN, basePath: `${EMU_URL}/v1` });
  const c2 = new v2.Configuration({ apiKey: TOKEN, basePath: `${EMU_URL}/api/v2` });
  const persons = new v2.PersonsApi(c2);
  const orgs = new v2.OrganizationsApi(c2);
  const deals = new v2.DealsApi(c2);
  const personFields = new v2.PersonFieldsApi(c2);
  const leads = new v1.LeadsApi(c1);
  const users = new v1.UsersApi(c1);
  const stamp = Date.now();

  const livePersons = (await stored('persons')).filter((r) => !r.is_deleted);
  const liveOrgs = (await stored('organizations')).filter((r) => !r.is_deleted);
  const storedDeals = (await stored('deals')).filter((r) => !r.is_deleted && !r.is_archived);
  const storedLeads = (await stored('leads')).filter((r) => !r.is_archived);
  check(livePersons.length > 10, `the emulator holds only ${livePersons.length} live persons; start it with --records contacts=50`);

  await step('v2 persons.getPersons: cursor paging through all persons', async () => {
    const seen = [];
    let cursor;
    let pages = 0;
    do {
      const res = await persons.getPersons({ limit: 7, cursor });
      envelope(res, 'getPersons');
      check(Array.isArray(res.data), 'getPersons data is not an array');
      check(res.data.length <= 7, `page of ${res.data.length} > limit 7`);
      seen.push(...res.data);
      cursor = res.additional_data && res.additional_data.next_cursor;
      check(cursor === null || cursor === undefined || typeof cursor === 'string', 'next_cursor is not a string or null');
      pages += 1;
      check(pages < 1000, 'cursor paging does not end');
    } while (cursor);
    check(pages > 1, 'only one page: cursor paging not exercised');
    check(seen.length === livePersons.length, `paged ${seen.length} persons, store has ${livePersons.length} live`);
    check(new Set(seen.map((p) => p.id)).size === seen.length, 'paging returned duplicate ids');
    const p = seen[0];
    check(Number.isInteger(p.id) && typeof p.name === 'string', 'person lacks integer id / name');
    check(Array.isArray(p.emails) && p.emails.every((e) => typeof e.value === 'string' && 'primary' in e),
      'person emails are not [{value,primary,label}]');
    check(RFC3339.test(p.update_time) && RFC3339.test(p.add_time), `v2 times not RFC 3339 Z: ${p.update_time}`);
    check(p.custom_fields && typeof p.custom_fields === 'object' && !Array.isArray(p.custom_fields),
      'person custom_fields is not an object');
    check(Object.keys(p.custom_fields).every((k) => HEX40.test(k)), 'custom_fields keys are not 40-hex hashes');
  });

  await step('v2 persons.getPersons: updated_since + sort_by=update_time', async () => {
    const sorted = [...livePersons].sort((a, b) => a.update_time.localeCompare(b.update_time));
    const since = sorted[Math.floor(sorted.length / 2)].update_time;
    const want = livePersons.filter((p) => p.update_time >= since).length;
    const res = await persons.getPersons({ updated_since: since, sort_by: 'update_time', sort_direction: 'asc', limit: 500 });
    envelope(res, 'getPersons updated_since');
    check(res.data.length === want, `updated_since gave ${res.data.length}, expected ${want}`);
    for (let i = 1; i < res.data.length; i += 1) {
      check(res.data[i - 1].update_time <= res.data[i].update_time, 'not sorted by update_time asc');
    }
  });

  await step('v2 organizations.getOrganizations', async () => {
    const seen = [];
    let cursor;
    do {
      const res = await orgs.getOrganizations({ limit: 4, cursor });
      envelope(res, 'getOrganizations');
      seen.push(...res.data);
      cursor = res.additional_data && res.additional_data.next_cursor;
    } while (cursor);
    check(seen.length === liveOrgs.length, `listed ${seen.length} organizations, store has ${liveOrgs.length} live`);
    check(seen.every((o) => Number.isInteger(o.id) && typeof o.name === 'string'), 'organization lacks id/name');
  });

  await step('v2 deals.getDeals (all statuses open,won,lost)', async () => {
    const seen = [];
    let cursor;
    do {
      const res = await deals.getDeals({ limit: 100, cursor });
      envelope(res, 'getDeals');
      seen.push(...res.data);
      cursor = res.additional_data && res.additional_data.next_cursor;
    } while (cursor);
    check(seen.length === storedDeals.length, `listed ${seen.length} deals, store has ${storedDeals.length}`);
    check(seen.every((d) => ['open', 'won', 'lost'].includes(d.status)), 'deal status outside open/won/lost');
    const won = await deals.getDeals({ status: 'won', limit: 500 });
    envelope(won, 'getDeals status=won');
    check(won.data.every((d) => d.status === 'won'), 'status=won filter returned other statuses');
  });

  const loyalty = await (async () => {
    let hash;
    await step('v2 personFields.getPersonFields: hash-keyed custom fields', async () => {
      const rows = [];
      let cursor;
      do {
        const res = await personFields.getPersonFields({ limit: 5, cursor });
        envelope(res, 'getPersonFields');
        rows.push(...res.data);
        cursor = res.additional_data && res.additional_data.next_cursor;
      } while (cursor);
      check(rows.every((f) => typeof f.field_code === 'string' && typeof f.field_name === 'string'
        && typeof f.field_type === 'string' && typeof f.is_custom_field === 'boolean'), 'field lacks field_code/name/type/is_custom_field');
      const custom = rows.filter((f) => f.is_custom_field);
      check(custom.length > 0, 'no custom person fields');
      check(custom.every((f) => HEX40.test(f.field_code)), 'custom field_code is not a 40-hex hash');
      check(rows.some((f) => f.field_code === 'name' && !f.is_custom_field), 'no standard name field');
      const lt = custom.find((f) => f.field_name === 'Loyalty tier' && f.field_type === 'varchar');
      check(lt, 'no varchar custom field "Loyalty tier" to write to');
      hash = lt.field_code;
      const one = await personFields.getPersonField({ field_code: hash });
      envelope(one, 'getPersonField');
      check(one.data.field_code === hash && one.data.field_name === 'Loyalty tier', 'getPersonField returned another field');
    });
    return hash;
  })();

  await step('v1 personFields (v1 PersonFieldsApi, start/limit)', async () => {
    const api = new v1.PersonFieldsApi(c1);
    const res = await api.getPersonFields({ start: 0, limit: 500 });
    envelope(res, 'v1 getPersonFields');
    check(res.data.some((f) => f.key === loyalty && f.edit_flag === true), 'v1 personFields lacks the hash key');
  });

  const email = `sdk.${stamp}@example.com`;
  let newId;
  await step('v2 persons.addPerson', async () => {
    const orgId = liveOrgs[0].id;
    const res = await persons.addPerson({
      AddPersonRequest: {
        name: 'Sdk Tëst', org_id: orgId,
        emails: [{ value: email, primary: true, label: 'work' }],
        phones: [{ value: '+45 1234 5678', primary: true, label: 'mobile' }],
        custom_fields: { [loyalty]: 'Platinum' },
      },
    });
    envelope(res, 'addPerson');
    newId = res.data.id;
    check(Number.isInteger(newId), 'addPerson: no integer id');
    check(res.data.org_id === orgId, 'addPerson: org_id not kept');
    check(res.data.custom_fields[loyalty] === 'Platinum', 'addPerson: custom field not kept');
  });

  await step('v2 persons.getPerson', async () => {
    const res = await persons.getPerson({ id: newId });
    envelope(res, 'getPerson');
    check(res.data.id === newId && res.data.name === 'Sdk Tëst', 'getPerson returned a different record');
    check(res.data.emails[0].value === email, 'getPerson: email not stored');
  });

  await step('v2 persons.getPersons include_option_labels (enum custom field as {id,label})', async () => {
    const res = await persons.getPersons({ include_option_labels: true, limit: 500 });
    envelope(res, 'getPersons include_option_labels');
    const vals = res.data.flatMap((p) => Object.values(p.custom_fields)).filter((v) => v && typeof v === 'object');
    check(vals.length > 0, 'no option-valued custom field came back as an object');
    check(vals.every((v) => Number.isInteger(v.id) && typeof v.label === 'string'), 'option value is not {id,label}');
  });

  await step('v2 persons.updatePerson (PATCH, partial)', async () => {
    const res = await persons.updatePerson({ id: newId, UpdatePersonRequest: { name: 'Sdk Updated', custom_fields: { [loyalty]: 'Gold' } } });
    envelope(res, 'updatePerson');
    check(res.data.name === 'Sdk Updated', 'updatePerson: name not changed');
    check(res.data.custom_fields[loyalty] === 'Gold', 'updatePerson: custom field not changed');
    check(res.data.emails[0].value === email, 'updatePerson: partial update lost the email');
  });

  await step('v2 persons.searchPersons by email (exact_match)', async () => {
    const res = await persons.searchPersons({ term: email, fields: 'email', exact_match: true });
    envelope(res, 'searchPersons');
    const items = res.data && res.data.items;
    check(Array.isArray(items) && items.length === 1, `search gave ${items && items.length} items, want 1`);
    check(items[0].item.id === newId && items[0].item.type === 'person', 'search item is not the new person');
    check(items[0].item.emails.includes(email), 'search item emails are not plain strings with the email');
    const other = livePersons[3].emails[0].value;
    const res2 = await persons.searchPersons({ term: other, fields: 'email', exact_match: true });
    check(res2.data.items.some((i) => i.item.id === livePersons[3].id), 'search missed a seeded person');
  });

  await step('v2 persons.deletePerson', async () => {
    const res = await persons.deletePerson({ id: newId });
    envelope(res, 'deletePerson');
    check(res.data && res.data.id === newId, 'deletePerson: data.id is not the id');
  });

  await step('error path: unknown / deleted person id', async () => {
    for (const id of [newId, 987654]) {
      let err;
      try {
        await persons.getPerson({ id });
      } catch (e) {
        err = e;
      }
      check(err !== undefined, `getPerson(${id}) resolved instead of rejecting`);
      // The SDK hands over the parsed error body (no status); the envelope must say it.
      check(err.success === false && /not found/i.test(err.error || ''), `SDK error is not the 404 envelope: ${describe(err)}`);
      check(typeof err.error_info === 'string', 'error body lacks error_info');
      // The status the SDK saw, from the same URL (the SDK keeps it out of its error).
      const r = await fetch(`${EMU_URL}/api/v2/persons/${id}`, { headers: { 'x-api-token': TOKEN } });
      check(r.status === 404, `GET /api/v2/persons/${id} gave HTTP ${r.status}, want 404`);
    }
    let err;
    try {
      await new v2.PersonsApi(new v2.Configuration({ apiKey: 'wrong-token', basePath: `${EMU_URL}/api/v2` })).getPersons();
    } catch (e) {
      err = e;
    }
    check(err && err.success === false && err.errorCode === 401, `bad token: not the 401 gateway body: ${describe(err)}`);
  });

  await step('v1 leads.getLeads (start/limit paging, /v1 base path)', async () => {
    const seen = [];
    let start = 0;
    for (;;) {
      const res = await leads.getLeads({ start, limit: 4, sort: 'update_time' });
      envelope(res, 'getLeads');
      seen.push(...res.data);
      const ad = res.additional_data || {};
      const more = ad.pagination ? ad.pagination.more_items_in_collection : ad.more_items_in_collection;
      if (!more) break;
      start += res.data.length;
      check(seen.length < 10000, 'lead paging does not end');
    }
    check(seen.length === storedLeads.length, `listed ${seen.length} leads, store has ${storedLeads.length} unarchived`);
    check(seen.every((l) => /^[0-9a-f-]{36}$/.test(l.id) && RFC3339.test(l.add_time)), 'lead ids not UUIDs / times not …Z');
    check(seen.every((l) => typeof l.visible_to === 'string'), 'lead visible_to is not a string');
    for (const sort of ['owner_id', 'title', 'id', 'add_time', 'expected_close_date']) {
      const r = await leads.getLeads({ limit: 2, sort });
      envelope(r, `getLeads sort=${sort}`);
    }
  });

  await step('v1 users.getUsers', async () => {
    const res = await users.getUsers();
    envelope(res, 'getUsers');
    const want = await stored('users');
    check(Array.isArray(res.data) && res.data.length === want.length, `getUsers gave ${res.data.length}, store has ${want.length}`);
    check(res.data.every((u) => Number.isInteger(u.id) && typeof u.email === 'string' && typeof u.active_flag === 'boolean'),
      'user lacks id/email/active_flag');
    check(res.data.every((u) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(u.created)), 'v1 user created not YYYY-MM-DD HH:MM:SS');
  });

  await step('v1 users.getCurrentUser (users/me), also under /api/v1', async () => {
    for (const base of ['/v1', '/api/v1']) {
      const api = new v1.UsersApi(new v1.Configuration({ apiKey: TOKEN, basePath: `${EMU_URL}${base}` }));
      const res = await api.getCurrentUser();
      envelope(res, 'getCurrentUser');
      check(Number.isInteger(res.data.id) && Number.isInteger(res.data.company_id), 'users/me lacks id/company_id');
      check(typeof res.data.company_domain === 'string', 'users/me lacks company_domain');
    }
  });

  console.log('pipedrive sdk check: all steps passed');
}

main().catch((e) => fail(describe(e)));
