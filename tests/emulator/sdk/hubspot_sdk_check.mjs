// The official @hubspot/api-client (13.5.0), unchanged, against the HubSpot
// emulator: proves the emulator speaks the wire protocol the SDK expects.
//
//   cp tests/emulator/sdk/package.json /tmp/hssdk/ && npm install --prefix /tmp/hssdk
//   python3 tests/emulator/run.py hubspot --rate-limits off > /tmp/emu.out &
//   EMU_URL=$(sed -n '1s/listening on //p' /tmp/emu.out) HUBSPOT_ACCESS_TOKEN=demo \
//     HSSDK_PREFIX=/tmp/hssdk node tests/emulator/sdk/hubspot_sdk_check.mjs
//
// (`npm install` inside tests/emulator/sdk works too.) Exits non-zero with a
// message on the first failure; prints one line per passed step.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const EMU_URL = process.env.EMU_URL;
const TOKEN = process.env.HUBSPOT_ACCESS_TOKEN || 'demo';

function fail(msg) {
  console.error(`hubspot sdk check: FAIL: ${msg}`);
  process.exit(1);
}

function loadSdk() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const bases = [process.env.HSSDK_PREFIX, here, '/tmp/hssdk'].filter(Boolean);
  for (const base of bases) {
    try {
      return createRequire(path.join(base, 'package.json'))('@hubspot/api-client');
    } catch (e) { /* try the next place */ }
  }
  fail(`cannot load @hubspot/api-client from ${bases.join(', ')}; run npm install (see the header)`);
}

function check(cond, msg) { if (!cond) fail(msg); }

async function control(method, p, body) {
  const r = await fetch(`${EMU_URL}/_emulator/${p}`, {
    method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' },
  });
  return r.text();
}

async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    const detail = e && e.code ? `HTTP ${e.code} ${JSON.stringify(e.body)}` : (e && e.stack) || e;
    fail(`${name}: ${detail}`);
  }
  console.log(`ok   ${name}`);
}

async function main() {
  check(EMU_URL, 'set EMU_URL to the emulator URL');
  const { Client } = loadSdk();
  const hs = new Client({ accessToken: TOKEN, basePath: EMU_URL });
  const stamp = Date.now();
  const stored = (await control('GET', 'records/contacts')).trim().split('\n').map((l) => JSON.parse(l));
  const live = stored.filter((r) => !r.archived);

  await step('contacts getAll', async () => {
    const all = await hs.crm.contacts.getAll(undefined, undefined, ['email', 'firstname']);
    check(all.length === live.length, `getAll gave ${all.length}, store has ${live.length} live contacts`);
    check(new Set(all.map((r) => r.id)).size === all.length, 'getAll returned duplicate ids');
    check(all.every((r) => r.updatedAt instanceof Date && !isNaN(r.updatedAt)), 'updatedAt is not a valid Date');
  });

  await step('contacts basicApi.getPage with associations', async () => {
    const page = await hs.crm.contacts.basicApi.getPage(10, undefined, ['email', 'favourite_colour'],
      undefined, ['companies'], false);
    check(page.results.length === 10, `page has ${page.results.length} results`);
    check(page.paging && page.paging.next && page.paging.next.after, 'no paging.next.after');
    const withCo = page.results.filter((r) => r.associations && r.associations.companies);
    check(withCo.length > 0, 'no inline company associations');
    const next = await hs.crm.contacts.basicApi.getPage(10, page.paging.next.after, ['email']);
    check(next.results[0].id !== page.results[0].id, 'after cursor did not advance');
  });

  const emails = [0, 1].map((i) => `sdk${i}.${stamp}@example.com`);
  let created;
  await step('contacts batchApi.create', async () => {
    const r = await hs.crm.contacts.batchApi.create({
      inputs: emails.map((e, i) => ({ properties: { email: e, firstname: 'Zoë', lastname: `SDK${i}` }, associations: [] })),
    });
    check(r.status === 'COMPLETE' && r.results.length === 2, `unexpected reply ${JSON.stringify(r)}`);
    created = r.results;
  });

  await step('contacts batchApi.upsert (idProperty=email)', async () => {
    const fresh = `sdk-upsert.${stamp}@example.com`;
    const r = await hs.crm.contacts.batchApi.upsert({
      inputs: [
        { id: emails[0], idProperty: 'email', properties: { jobtitle: 'CTO' } },
        { id: fresh, idProperty: 'email', properties: { firstname: 'Łukasz' } },
      ],
    });
    const byEmail = Object.fromEntries(r.results.map((x) => [x.properties.email, x]));
    check(byEmail[emails[0]] && byEmail[emails[0]]._new === false, `existing contact not new:false ${JSON.stringify(r.results)}`);
    check(byEmail[fresh] && byEmail[fresh]._new === true, 'fresh contact not new:true');
  });

  await step('contacts batchApi.update', async () => {
    const r = await hs.crm.contacts.batchApi.update({
      inputs: created.map((c) => ({ id: c.id, properties: { lifecyclestage: 'customer' } })),
    });
    check(r.results.every((x) => x.properties.lifecyclestage === 'customer'), 'update not applied');
  });

  await step('contacts batchApi.read', async () => {
    const r = await hs.crm.contacts.batchApi.read({
      inputs: created.map((c) => ({ id: c.id })), properties: ['email', 'lifecyclestage', 'jobtitle'], propertiesWithHistory: [],
    }, false);
    check(r.results.length === 2, `read gave ${r.results.length}`);
    check(r.results.some((x) => x.properties.jobtitle === 'CTO'), 'upserted jobtitle not read back');
  });

  await step('contacts searchApi.doSearch', async () => {
    const r = await hs.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: emails[1].toUpperCase() }] }],
      sorts: ['hs_object_id'], properties: ['email'], limit: 10, after: '0',
    });
    check(r.total === 1 && r.results[0].properties.email === emails[1], `search gave ${JSON.stringify(r)}`);
    const since = await hs.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: String(stamp - 60000) }] }],
      sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }], properties: ['email'], limit: 200,
    });
    check(since.total >= 3, `lastmodifieddate search found ${since.total}`);
  });

  await step('duplicate create is an ApiException 409', async () => {
    try {
      await hs.crm.contacts.basicApi.create({ properties: { email: emails[1] }, associations: [] });
    } catch (e) {
      check(e.code === 409 && e.body.category === 'CONFLICT' && /Existing ID: \d+/.test(e.body.message),
        `got ${e.code} ${JSON.stringify(e.body)}`);
      return;
    }
    fail('duplicate email was accepted');
  });

  await step('contacts batchApi.archive', async () => {
    await hs.crm.contacts.batchApi.archive({ inputs: created.map((c) => ({ id: c.id })) });
    const r = await hs.crm.contacts.basicApi.getPage(100, undefined, ['email'], undefined, undefined, true);
    check(r.results.some((x) => x.id === created[0].id && x.archived && x.archivedAt instanceof Date),
      'archived contact not listed with archived=true');
  });

  await step('companies getAll', async () => {
    const all = await hs.crm.companies.getAll(undefined, undefined, ['name', 'domain']);
    check(all.length > 0 && all.every((c) => typeof c.properties.name === 'string'), 'no companies');
  });

  await step('owners getPage', async () => {
    const r = await hs.crm.owners.ownersApi.getPage(undefined, undefined, 100, false);
    check(r.results.length > 0 && r.results.every((o) => !o.archived && o.email), 'no active owners');
    const gone = await hs.crm.owners.ownersApi.getPage(undefined, undefined, 100, true);
    check(gone.results.every((o) => o.archived), 'archived=true listed active owners');
  });

  await step('pipelines getAll deals', async () => {
    const r = await hs.crm.pipelines.pipelinesApi.getAll('deals');
    const def = r.results.find((p) => p.id === 'default');
    check(def && def.stages.length === 7, 'default pipeline with 7 stages missing');
    check(def.stages.find((s) => s.id === 'closedwon').metadata.probability === '1.0', 'closedwon probability');
  });

  await step('properties getAll contacts', async () => {
    const r = await hs.crm.properties.coreApi.getAll('contacts', false);
    const fav = r.results.find((p) => p.name === 'favourite_colour');
    check(fav && fav.hubspotDefined === false && fav.options.length > 0, 'custom favourite_colour missing');
    check(r.results.find((p) => p.name === 'createdate').modificationMetadata.readOnlyValue === true, 'createdate not read-only');
  });

  await step('properties coreApi.create, then a record with it', async () => {
    const p = await hs.crm.properties.coreApi.create('contacts', {
      name: 'sdk_loyalty_tier', label: 'Loyalty tier', type: 'string', fieldType: 'text', groupName: 'contactinformation',
    });
    check(p.name === 'sdk_loyalty_tier' && p.hubspotDefined === false, `create gave ${JSON.stringify(p)}`);
    const c = await hs.crm.contacts.basicApi.create({ properties: { email: 'tier@sdk.example', sdk_loyalty_tier: 'gold' }, associations: [] });
    const back = await hs.crm.contacts.basicApi.getById(c.id, ['sdk_loyalty_tier']);
    check(back.properties.sdk_loyalty_tier === 'gold', 'custom property value not read back');
  });

  await step('lists search, memberships add/remove/getPage', async () => {
    const r = await hs.crm.lists.listsApi.doSearch({ query: '', count: 20, offset: 0, processingTypes: ['MANUAL'] });
    const list = r.lists.find((l) => l.objectTypeId === '0-1');
    check(list && list.additionalProperties && 'hs_list_size' in list.additionalProperties, 'no MANUAL contact list');
    const ids = live.slice(0, 3).map((c) => c.id);
    const add = await hs.crm.lists.membershipsApi.add(list.listId, [...ids, '999999999']);
    check(add.recordIdsMissing.includes('999999999'), `add reply ${JSON.stringify(add)}`);
    const page = await hs.crm.lists.membershipsApi.getPage(list.listId, undefined, undefined, 250);
    const members = page.results.map((m) => m.recordId);
    check(ids.every((i) => members.includes(i)), 'added ids are not members');
    check(page.results.every((m) => m.membershipTimestamp instanceof Date), 'membershipTimestamp not a Date');
    const rm = await hs.crm.lists.membershipsApi.remove(list.listId, [ids[0]]);
    check(rm.recordIdsRemoved.includes(ids[0]), `remove reply ${JSON.stringify(rm)}`);
    const one = await hs.crm.lists.listsApi.getById(list.listId);
    check(one.list.listId === list.listId && typeof one.list.size === 'number', 'getById');
    const made = await hs.crm.lists.listsApi.create({ name: `SDK list ${stamp}`, objectTypeId: '0-1', processingType: 'MANUAL' });
    await hs.crm.lists.listsApi.remove(made.list.listId);
  });

  await step('leads create (objects API) and associations v4', async () => {
    const lead = await hs.crm.objects.basicApi.create('leads', {
      properties: { hs_lead_name: 'SDK lead' },
      associations: [{ to: { id: live[0].id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 578 }] }],
    });
    check(lead.id, 'lead not created');
    const co = (await hs.crm.companies.basicApi.getPage(1)).results[0];
    await hs.crm.associations.v4.basicApi.createDefault('contacts', live[1].id, 'companies', co.id);
    const got = await hs.crm.associations.v4.batchApi.getPage('contacts', 'companies', { inputs: [{ id: live[1].id }] });
    check(got.results[0].to.some((t) => String(t.toObjectId) === co.id), 'v4 batch read misses the new association');
    const labels = await hs.crm.associations.v4.schema.definitionsApi.getAll('contacts', 'companies');
    check(labels.results.some((l) => l.typeId === 279), 'labels lack 279');
  });

  await step('OAuth refresh, then a call with the new token', async () => {
    const t = await hs.oauth.tokensApi.create('refresh_token', undefined, undefined, 'demo-client', 'demo-secret', 'demo-refresh');
    check(t.accessToken && t.expiresIn === 1800, `token reply ${JSON.stringify(t)}`);
    const other = new Client({ accessToken: t.accessToken, basePath: EMU_URL });
    const r = await other.crm.contacts.basicApi.getPage(1);
    check(r.results.length === 1, 'call with refreshed token');
  });

  await step('SDK retries an injected 503', async () => {
    await control('POST', 'faults', [{ match: '^GET /crm/v3/objects/companies$', status: 503, times: 1 }]);
    const retrying = new Client({ accessToken: TOKEN, basePath: EMU_URL, numberOfApiCallRetries: 3 });
    const r = await retrying.crm.companies.basicApi.getPage(1);
    check(r.results.length === 1, 'no result after retry');
  });

  console.log('hubspot sdk check: all passed');
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
