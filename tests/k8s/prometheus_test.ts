import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { prometheusRulesFile } from "../../k8s/render.ts";
import { type Any, rendered, ROOT } from "./rendered.ts";

const TESTS_FILE = new URL("k8s/prometheus/tests.yaml", ROOT);

function findPromtool(): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/promtool`).isFile) return `${dir}/promtool`;
    } catch {
      // not in this folder
    }
  }
  return null;
}

const PROMTOOL = findPromtool();
if (PROMTOOL === null) {
  console.warn(
    "promtool is not installed: the promtool tests are skipped (apt-get install prometheus, or run .ci/k8s)",
  );
}

/** Writes the rules extracted from the base's PrometheusRule (optionally edited) and the unit tests to a folder. */
async function ruleFolder(edit?: (rules: string) => string): Promise<string> {
  const rules = prometheusRulesFile(await rendered("base"));
  const edited = edit ? edit(rules) : rules;
  if (edit) assert.notEqual(edited, rules, "the edit must change the rules");
  const dir = await Deno.makeTempDir({ prefix: "churn_promtool_" });
  await Deno.writeTextFile(`${dir}/rules.yaml`, edited);
  await Deno.copyFile(TESTS_FILE, `${dir}/tests.yaml`);
  return dir;
}

async function promtool(cwd: string, ...args: string[]): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(PROMTOOL!, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const d = new TextDecoder();
  return { code: out.code, output: d.decode(out.stdout) + d.decode(out.stderr) };
}

Deno.test("every alert of the PrometheusRule has a promtool unit test where it fires and one where it stays quiet", async () => {
  const rules = (await rendered("base")).filter((m) => m.kind === "PrometheusRule")
    .flatMap((m: Any) => m.spec.groups.flatMap((g: Any) => g.rules)).filter((r: Any) => r.alert);
  const tests = parseYaml(await Deno.readTextFile(TESTS_FILE)) as Any;
  assert.deepEqual(tests.rule_files, ["rules.yaml"]);
  const cases = tests.tests.flatMap((t: Any) => t.alert_rule_test ?? []);
  const alerts = rules.map((r: Any) => r.alert);
  assert.deepEqual(alerts.sort(), [
    "ChurnApiHighErrorRate",
    "ChurnApiHighLatencyP95",
    "ChurnApiNoModelLoaded",
    "ChurnDriftJobFailed",
    "ChurnDriftStatusFail",
    "ChurnScheduledJobFailed",
  ]);
  for (const alert of alerts) {
    const mine = cases.filter((c: Any) => c.alertname === alert);
    assert.ok(mine.some((c: Any) => c.exp_alerts?.length > 0), `no unit test where ${alert} fires`);
    if (alert !== "ChurnScheduledJobFailed") {
      assert.ok(mine.some((c: Any) => (c.exp_alerts ?? []).length === 0), `no unit test where ${alert} stays quiet`);
    }
  }
  for (const c of cases) assert.ok(alerts.includes(c.alertname), `tests.yaml tests an unknown alert ${c.alertname}`);
});

Deno.test({
  name: "the PrometheusRule's rules pass promtool check rules",
  ignore: PROMTOOL === null,
  fn: async () => {
    const dir = await ruleFolder();
    try {
      const r = await promtool(dir, "check", "rules", "rules.yaml");
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /SUCCESS: 6 rules found/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the promtool unit tests in k8s/prometheus/tests.yaml pass against the PrometheusRule's rules",
  ignore: PROMTOOL === null,
  fn: async () => {
    const dir = await ruleFolder();
    try {
      const r = await promtool(dir, "test", "rules", "tests.yaml");
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /SUCCESS/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the promtool unit tests fail when an alert is broken (loose drift regex, probes counted, wrong quantile)",
  ignore: PROMTOOL === null,
  fn: async () => {
    const breakages: [string, (rules: string) => string, RegExp][] = [
      ["drift regex", (r) => r.replaceAll("churn-drift-[0-9]+", "churn-drift-.*"), /ChurnDriftJobFailed/],
      ["probes counted", (r) => r.replaceAll(', path!~"/live|/ready|/health|/metrics"', ""), /ChurnApiHighErrorRate/],
      ["median", (r) => r.replace("histogram_quantile(0.95,", "histogram_quantile(0.5,"), /ChurnApiHighLatencyP95/],
      ["drift WARN", (r) => r.replace("== 2", ">= 1"), /ChurnDriftStatusFail/],
    ];
    for (const [what, edit, alert] of breakages) {
      const dir = await ruleFolder(edit);
      try {
        const r = await promtool(dir, "test", "rules", "tests.yaml");
        assert.notEqual(r.code, 0, `the unit tests pass with a broken rule (${what})`);
        assert.match(r.output, alert, what);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
  },
});

Deno.test("every alert's runbook annotation points at a section of docs/deploy.md", async () => {
  const doc = await Deno.readTextFile(new URL("docs/deploy.md", ROOT));
  const anchors = new Set(
    [...doc.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) =>
      m[1].trim().toLowerCase().replace(/[^a-z0-9 -]/g, "").replaceAll(" ", "-")
    ),
  );
  const rules = (await rendered("base")).filter((m) => m.kind === "PrometheusRule")
    .flatMap((m: Any) => m.spec.groups.flatMap((g: Any) => g.rules)).filter((r: Any) => r.alert);
  for (const r of rules) {
    const [file, anchor] = String(r.annotations.runbook).split("#");
    assert.equal(file, "docs/deploy.md", r.alert);
    assert.equal(anchor, r.alert.toLowerCase(), r.alert);
    assert.ok(anchors.has(anchor), `docs/deploy.md has no section ${r.alert}`);
  }
});
