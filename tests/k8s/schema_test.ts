import assert from "node:assert/strict";
import { Namespace, PersistentVolumeClaim, Service, ServiceAccount } from "kubernetes-models/v1";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { Job } from "kubernetes-models/batch/v1/Job";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import type { Manifest } from "../../k8s/render.ts";
import { KUSTOMIZATIONS, rendered, ROOT } from "./rendered.ts";

interface ModelClass {
  apiVersion: string;
  // deno-lint-ignore no-explicit-any
  new (data?: any): { validate(): void };
}

/** Every kind k8s/ renders, with its schema model and the module declaring its TypeScript interface. */
const MODELS: Record<string, { model: ModelClass; types: string; iface: string }> = {
  Namespace: { model: Namespace, types: "kubernetes-models/v1/Namespace", iface: "INamespace" },
  ServiceAccount: { model: ServiceAccount, types: "kubernetes-models/v1/ServiceAccount", iface: "IServiceAccount" },
  ConfigMap: { model: ConfigMap, types: "kubernetes-models/v1/ConfigMap", iface: "IConfigMap" },
  Service: { model: Service, types: "kubernetes-models/v1/Service", iface: "IService" },
  PersistentVolumeClaim: {
    model: PersistentVolumeClaim,
    types: "kubernetes-models/v1/PersistentVolumeClaim",
    iface: "IPersistentVolumeClaim",
  },
  Deployment: { model: Deployment, types: "kubernetes-models/apps/v1/Deployment", iface: "IDeployment" },
  Job: { model: Job, types: "kubernetes-models/batch/v1/Job", iface: "IJob" },
  CronJob: { model: CronJob, types: "kubernetes-models/batch/v1/CronJob", iface: "ICronJob" },
  PodDisruptionBudget: {
    model: PodDisruptionBudget,
    types: "kubernetes-models/policy/v1/PodDisruptionBudget",
    iface: "IPodDisruptionBudget",
  },
  HorizontalPodAutoscaler: {
    model: HorizontalPodAutoscaler,
    types: "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler",
    iface: "IHorizontalPodAutoscaler",
  },
  ServiceMonitor: {
    model: ServiceMonitor,
    types: "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor",
    iface: "IServiceMonitor",
  },
  PrometheusRule: {
    model: PrometheusRule,
    types: "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule",
    iface: "IPrometheusRule",
  },
};

/** Validates each object with its kubernetes-models schema; returns the problems, one line each. */
function schemaProblems(ms: readonly Manifest[]): string[] {
  const problems: string[] = [];
  for (const m of ms) {
    const what = `${m.kind}/${m.metadata.name}`;
    const entry = MODELS[m.kind];
    if (!entry) {
      problems.push(`${what}: no schema for kind ${m.kind} (add it to MODELS)`);
      continue;
    }
    if (m.apiVersion !== entry.model.apiVersion) {
      problems.push(`${what}: apiVersion ${m.apiVersion}, expected ${entry.model.apiVersion}`);
      continue;
    }
    try {
      new entry.model(m).validate();
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message}`);
    }
  }
  return problems;
}

for (const name of Object.keys(KUSTOMIZATIONS)) {
  Deno.test(`every object rendered from ${KUSTOMIZATIONS[name]} validates against its Kubernetes schema`, async () => {
    const ms = await rendered(name);
    assert.ok(ms.length >= 12, `only ${ms.length} objects rendered`);
    assert.deepEqual(schemaProblems(ms), []);
  });
}

Deno.test("the schema check rejects a Deployment with a string replica count and a container without a name", () => {
  const bad = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "bad" },
    spec: {
      replicas: "two",
      selector: { matchLabels: { a: "b" } },
      template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ image: "x:1" }] } },
    },
  } as unknown as Manifest;
  const problems = schemaProblems([bad]);
  assert.equal(problems.length, 1);
  assert.match(problems[0], /replicas must be integer/);
  assert.match(problems[0], /must have required property 'name'|must have required property name/);
});

/**
 * The schemas accept unknown fields (a misspelt `readinesProbe` would pass), so each object is also
 * type-checked as an object literal of its kubernetes-models interface, where TypeScript rejects
 * every field the API does not have, at any depth.
 */
async function unknownFieldErrors(ms: readonly Manifest[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "churn_k8s_types_" });
  try {
    const kinds = [...new Set(ms.map((m) => m.kind))];
    const lines = kinds.map((k) => `import type { ${MODELS[k].iface} } from "${MODELS[k].types}";`);
    ms.forEach((m, i) => {
      lines.push(`// ${m.kind}/${m.metadata.name}`);
      lines.push(`export const o${i}: ${MODELS[m.kind].iface} = ${JSON.stringify(m, null, 2)};`);
    });
    const file = `${dir}/manifests.ts`;
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--config", new URL("deno.json", ROOT).pathname, file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    return out.code === 0 ? "" : text || `deno check exited with ${out.code}`;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("no object rendered from the base or an overlay has a field the Kubernetes API does not know", async () => {
  const all: Manifest[] = [];
  for (const name of Object.keys(KUSTOMIZATIONS)) all.push(...await rendered(name));
  assert.equal(await unknownFieldErrors(all), "");
});

Deno.test("the unknown-field check catches a misspelt probe in a container", async () => {
  const ms = await rendered("base");
  const deployment = ms.find((m) => m.kind === "Deployment")!;
  // deno-lint-ignore no-explicit-any
  const c = (deployment as any).spec.template.spec.containers[0];
  c.readinesProbe = c.readinessProbe;
  delete c.readinessProbe;
  assert.match(await unknownFieldErrors([deployment]), /readinesProbe/);
});
