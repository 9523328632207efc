// Child process of the Deno Deploy test: run without write permission. Builds the Deploy handler on
// an in-memory Deno KV, checks it answers 503 without a model, copies the model artifacts of the
// pipeline folder given as argument into KV, waits for kv.watch to load them, then predicts.
import { loadConfig } from "../../config/mod.ts";
import { createDeployHandler } from "../../tasks/serve.ts";

const [configFile] = Deno.args;
const config = loadConfig({ env: "dev", file: configFile });
const handler = createDeployHandler({
  config: { ...config, store: { ...config.store, backend: "fs", kv_path: ":memory:" } },
});
const out: Record<string, unknown> = { write: (await Deno.permissions.query({ name: "write" })).state };
const call = async (path: string, init?: RequestInit) => {
  const res = await handler.fetch(new Request(`http://deploy.test${path}`, init));
  return { status: res.status, body: await res.json() };
};
out.live = await call("/live");
out.before = await call("/ready");
const service = await handler.ready();
out.backend = service.store.backend;
for (const name of ["models", "metrics", "registry"] as const) {
  for await (const e of Deno.readDir(config.paths[name])) {
    const bytes = await Deno.readFile(`${config.paths[name]}/${e.name}`);
    await service.store.put(service.store.keyOf(`${config.paths[name]}/${e.name}`), bytes);
  }
}
const end = Date.now() + 5000;
while (service.holder.current === null && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
out.after = await call("/ready");
out.predict = await call("/predict", {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ user_id: 5, features: {} }),
});
await handler.close();
console.log(JSON.stringify(out));
