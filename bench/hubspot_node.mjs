// The comparison client: the official HubSpot Node SDK doing the same work
// as crmsync against the same emulator.  usage: node hubspot_node.mjs pull|push URL [N]
// Prints the CPU time it used (user+system, ms) and the record count.
import hubspot from "@hubspot/api-client";
const [mode, url, nArg] = process.argv.slice(2);
const client = new hubspot.Client({ accessToken: process.env.HUBSPOT_ACCESS_TOKEN, basePath: url });
const props = (process.env.PROPS || "").split(",").filter(Boolean);
const t0 = process.cpuUsage();
let n = 0;
if (mode === "pull") {
  const all = await client.crm.contacts.getAll(100, undefined, props.length ? props : undefined);
  n = all.length;
} else {
  // The records crmsync pushes (bench.py contacts_file): the same four properties.
  const total = Number(nArg || 10000);
  const tag = process.env.NODE_TAG || "node";
  for (let off = 0; off < total; off += 100) {
    const inputs = [];
    for (let i = off; i < Math.min(total, off + 100); i++)
      inputs.push({ id: `${tag}${i}@bench.example`, idProperty: "email",
                    properties: { email: `${tag}${i}@bench.example`, firstname: "Bench", lastname: `Person ${i}`,
                                  jobtitle: "Tester" } });
    const r = await client.crm.contacts.batchApi.upsert({ inputs });
    n += r.results.length;
  }
}
const t = process.cpuUsage(t0);
console.log(JSON.stringify({ records: n, cpu_ms: (t.user + t.system) / 1000 }));
