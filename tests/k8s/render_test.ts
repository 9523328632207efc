import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import {
  configMapHash,
  jsonPatch,
  KustomizeError,
  main,
  type Manifest,
  prometheusRulesFile,
  renderKustomization,
  strategicMerge,
} from "../../k8s/render.ts";
import type { Any } from "./rendered.ts";

/** Writes files (path → content) under a fresh temporary folder and returns it. */
async function tree(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "churn_kustomize_" });
  for (const [path, text] of Object.entries(files)) {
    const full = `${dir}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, text);
  }
  return dir;
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      initContainers:
        - name: init
          image: example.com/app:1.0
      containers:
        - name: web
          image: example.com/app:1.0
          env:
            - name: A
              value: "1"
            - name: MODE
              valueFrom:
                configMapKeyRef: { name: settings, key: MODE }
          envFrom:
            - configMapRef: { name: settings }
          volumeMounts:
            - { name: files, mountPath: /etc/files }
        - name: sidecar
          image: other.example.com/side:2
      volumes:
        - name: files
          configMap: { name: files }
`;

Deno.test("configMapHash() reproduces kustomize's documented suffix for a literal ConfigMap", async () => {
  const hash = await configMapHash("my-java-server-env-vars", {
    JAVA_HOME: "/opt/java/jdk",
    JAVA_TOOL_OPTIONS: "-agentlib:hprof",
  });
  assert.equal(hash, "44k658k8gk");
});

Deno.test("generated ConfigMaps get a content hash and every reference to them is rewritten", async () => {
  const dir = await tree({
    "base/kustomization.yaml": `resources: [deployment.yaml]
configMapGenerator:
  - name: settings
    literals: [MODE=base]
  - name: files
    files: [conf.yaml, renamed.yaml=other.yaml]
  - name: fixed
    literals: [X=1]
    options: { disableNameSuffixHash: true }
`,
    "base/deployment.yaml": DEPLOYMENT,
    "base/conf.yaml": "a: 1\n",
    "base/other.yaml": "b: 2\n",
    "overlay/kustomization.yaml": `resources: [../base]
configMapGenerator:
  - name: settings
    behavior: merge
    literals: [MODE=prod, EXTRA=yes]
`,
  });
  try {
    const base = await renderKustomization(`${dir}/base`);
    const overlay = await renderKustomization(`${dir}/overlay`);
    const cm = (ms: Manifest[], prefix: string) => ms.find((m) => m.metadata.name.startsWith(prefix)) as Any;
    const baseSettings = cm(base, "settings-");
    const overlaySettings = cm(overlay, "settings-");
    assert.deepEqual(baseSettings.data, { MODE: "base" });
    assert.deepEqual(overlaySettings.data, { MODE: "prod", EXTRA: "yes" });
    assert.equal(baseSettings.metadata.name, `settings-${await configMapHash("settings", { MODE: "base" })}`);
    assert.notEqual(baseSettings.metadata.name, overlaySettings.metadata.name);
    assert.deepEqual(cm(base, "files-").data, { "conf.yaml": "a: 1\n", "renamed.yaml": "b: 2\n" });
    assert.ok(base.some((m) => m.metadata.name === "fixed"), "disableNameSuffixHash keeps the name");
    const d = overlay.find((m) => m.kind === "Deployment") as Any;
    const web = d.spec.template.spec.containers[0];
    assert.equal(web.env[1].valueFrom.configMapKeyRef.name, overlaySettings.metadata.name);
    assert.equal(web.envFrom[0].configMapRef.name, overlaySettings.metadata.name);
    assert.equal(d.spec.template.spec.volumes[0].configMap.name, cm(overlay, "files-").metadata.name);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("files outside a kustomization's folder are refused unless the load restrictor is off, as in kustomize", async () => {
  const dir = await tree({
    "shared/app.yaml": "x: 1\n",
    "k/kustomization.yaml": "configMapGenerator:\n  - name: c\n    files: [app.yaml=../shared/app.yaml]\n",
  });
  try {
    await assert.rejects(
      () => renderKustomization(`${dir}/k`),
      (e: Error) =>
        e instanceof KustomizeError && /security; file '.*\/shared\/app\.yaml' is not in or below/.test(e.message),
    );
    const ms = await renderKustomization(`${dir}/k`, { loadRestrictor: "LoadRestrictionsNone" });
    assert.deepEqual((ms[0] as Any).data, { "app.yaml": "x: 1\n" });
    // The real base reads ../../config/*.yaml, so it needs the flag too.
    const base = new URL("../../k8s/base", import.meta.url).pathname;
    await assert.rejects(() => renderKustomization(base), /security; file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("namespace, labels, replicas and images apply to the right objects and fields", async () => {
  const dir = await tree({
    "kustomization.yaml": `namespace: team
labels:
  - pairs: { tier: web }
    includeTemplates: true
replicas:
  - name: web
    count: 4
images:
  - name: example.com/app
    newName: registry.local/app
    newTag: "2.0"
resources: [deployment.yaml, cluster.yaml]
`,
    "deployment.yaml": DEPLOYMENT,
    "cluster.yaml": `apiVersion: v1
kind: Namespace
metadata: { name: old }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: reader }
rules: []
`,
  });
  try {
    const ms = await renderKustomization(dir) as Any[];
    assert.deepEqual(ms.map((m) => m.kind), ["Namespace", "ClusterRole", "Deployment"], "kustomize's legacy order");
    const [ns, role, d] = ms;
    assert.equal(ns.metadata.name, "team");
    assert.equal(role.metadata.namespace, undefined, "cluster-scoped objects get no namespace");
    assert.equal(d.metadata.namespace, "team");
    assert.equal(d.metadata.labels.tier, "web");
    assert.deepEqual(d.spec.template.metadata.labels, { app: "web", tier: "web" });
    assert.deepEqual(d.spec.selector.matchLabels, { app: "web" }, "selectors untouched");
    assert.equal(d.spec.replicas, 4);
    assert.equal(d.spec.template.spec.initContainers[0].image, "registry.local/app:2.0");
    assert.equal(d.spec.template.spec.containers[0].image, "registry.local/app:2.0");
    assert.equal(d.spec.template.spec.containers[1].image, "other.example.com/side:2");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("strategic merge patches merge containers and env by name and JSON patches edit by path", async () => {
  const dir = await tree({
    "kustomization.yaml": `resources: [deployment.yaml]
patches:
  - path: smp.yaml
  - target: { kind: Deployment, name: web }
    patch: |-
      - op: replace
        path: /spec/replicas
        value: 3
      - op: add
        path: /spec/template/spec/containers/0/args
        value: [serve]
      - op: remove
        path: /spec/template/spec/initContainers
`,
    "deployment.yaml": DEPLOYMENT,
    "smp.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  template:
    spec:
      containers:
        - name: web
          env:
            - name: B
              value: "2"
            - name: A
              value: "changed"
          resources:
            limits: { memory: 1Gi }
`,
  });
  try {
    const [d] = await renderKustomization(dir) as Any[];
    const web = d.spec.template.spec.containers[0];
    assert.deepEqual(web.env.map((e: Any) => [e.name, e.value]), [["A", "changed"], ["MODE", undefined], ["B", "2"]]);
    assert.deepEqual(web.resources, { limits: { memory: "1Gi" } });
    assert.equal(web.image, "example.com/app:1.0", "fields the patch does not name are kept");
    assert.equal(d.spec.template.spec.containers.length, 2, "the sidecar is kept");
    assert.equal(d.spec.replicas, 3);
    assert.deepEqual(web.args, ["serve"]);
    assert.equal(d.spec.template.spec.initContainers, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(strategicMerge({ a: 1, b: { c: 2 } }, { b: null }), { a: 1 });
  assert.deepEqual(strategicMerge({ args: ["a", "b"] }, { args: ["c"] }), { args: ["c"] }, "plain lists replace");
  assert.throws(() => jsonPatch({ a: 1 }, [{ op: "replace", path: "/b", value: 1 }]), /no such path/);
});

Deno.test("the renderer refuses what it cannot render instead of ignoring it", async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ "kustomization.yaml": "commonAnnotations: { a: b }\n" }, /Unsupported kustomization field "commonAnnotations"/],
    [
      {
        "kustomization.yaml": "resources: [d.yaml]\nlabels:\n  - pairs: { a: b }\n    includeSelectors: true\n",
        "d.yaml": DEPLOYMENT,
      },
      /includeSelectors/,
    ],
    [{ "kustomization.yaml": "resources: [d.yaml, d.yaml]\n", "d.yaml": DEPLOYMENT }, /already registered id/],
    [
      {
        "kustomization.yaml": "resources: [d.yaml]\npatches:\n  - path: p.yaml\n",
        "d.yaml": DEPLOYMENT,
        "p.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: nope }\n",
      },
      /No resource matches the patch/,
    ],
    [
      { "kustomization.yaml": "configMapGenerator:\n  - name: c\n    behavior: merge\n    literals: [a=b]\n" },
      /nothing to merge/,
    ],
    [{ "kustomization.yaml": "resources: [d.yaml]\n", "d.yaml": "kind: Deployment\n" }, /needs apiVersion and kind/],
    [{ "other.yaml": "" }, /No kustomization.yaml/],
  ];
  for (const [files, re] of cases) {
    const dir = await tree(files);
    try {
      await assert.rejects(
        () => renderKustomization(dir),
        (e: Error) => e instanceof KustomizeError && re.test(e.message),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("the command line prints the manifests or the alert rules and answers bad flags with exit code 2", async () => {
  const base = new URL("../../k8s/base", import.meta.url).pathname;
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../k8s/render.ts", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  const all = await run("--load-restrictor", "LoadRestrictionsNone", base);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^kind: Namespace$/m);
  assert.match(all.stdout, /^kind: CronJob$/m);
  const rules = await run("rules", "--load-restrictor=LoadRestrictionsNone", base);
  assert.equal(rules.code, 0, rules.stderr);
  const groups = (parseYaml(rules.stdout) as Any).groups;
  assert.ok(groups.flatMap((g: Any) => g.rules).some((r: Any) => r.alert === "ChurnDriftJobFailed"));
  const denied = await run(base);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /security; file/);
  assert.equal((await run("--bogus", base)).code, 2);
  assert.equal((await run("--load-restrictor", "Sometimes", base)).code, 2);
  assert.equal(await main([]), 2, "no folder given");
  assert.throws(() => prometheusRulesFile([]), /No PrometheusRule/);
});
