import assert from "node:assert/strict";
import { loadConfig } from "../../config/mod.ts";
import { parse as parseYaml } from "yaml";
import { rendered, ROOT } from "../k8s/rendered.ts";

/** The YAML block of the Deno Deploy section of docs/deploy.md (the proposed config/deploy.yaml). */
async function proposedDeployConfig(): Promise<string> {
  const doc = await Deno.readTextFile(new URL("docs/deploy.md", ROOT));
  const section = doc.slice(doc.indexOf("## Deno Deploy"));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, "docs/deploy.md has no YAML block in its Deno Deploy section");
  return block;
}

Deno.test("the Deno Deploy configuration in docs/deploy.md loads and selects Deno KV and in-process schedules", async () => {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(file, await proposedDeployConfig());
    const config = loadConfig({ env: "prod", file });
    assert.equal(config.store.backend, "kv");
    assert.equal(config.schedules.enabled, true);
    assert.equal(config.schedules.drift, "0 1 * * *");
  } finally {
    await Deno.remove(file);
  }
  // Once config/deploy.yaml is committed, it holds the same settings as the documentation.
  try {
    const committed = await Deno.readTextFile(new URL("config/deploy.yaml", ROOT));
    assert.deepEqual(
      parseYaml(committed),
      parseYaml(await proposedDeployConfig()),
      "config/deploy.yaml vs docs/deploy.md",
    );
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
});

Deno.test("the runbook's commands name objects that the manifests define", async () => {
  const doc = await Deno.readTextFile(new URL("docs/deploy.md", ROOT));
  const ms = await rendered("prod");
  const names = new Set(ms.map((m) => `${m.kind.toLowerCase()}/${m.metadata.name}`));
  const aliases: Record<string, string> = { deploy: "deployment", cronjob: "cronjob", job: "job" };
  const refs = [...doc.matchAll(/\b(deploy|cronjob|job)\/(churn-[a-z-]+)\b/g)].map((m) => `${aliases[m[1]]}/${m[2]}`);
  assert.ok(refs.length >= 5, "the runbook names the objects it acts on");
  assert.deepEqual(refs.filter((r) => !names.has(r)), []);
  for (const ns of [...doc.matchAll(/-n (churn-mlops[a-z-]*)/g)].map((m) => m[1])) {
    assert.equal(ns, ms.find((m) => m.kind === "Namespace")!.metadata.name);
  }
});
