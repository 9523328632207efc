import assert from "node:assert/strict";
import { loadConfig } from "../../config/mod.ts";
import { TASKS } from "../../tasks/mod.ts";
import {
  type Any,
  containersOf,
  KUSTOMIZATIONS,
  ofKind,
  one,
  OVERLAYS,
  podTemplates,
  quantity,
  rendered,
  ROOT,
  selects,
} from "./rendered.ts";

const ALL = Object.keys(KUSTOMIZATIONS);
const NAMESPACES: Record<string, string> = {
  base: "churn-mlops",
  dev: "churn-mlops-dev",
  stage: "churn-mlops-stage",
  prod: "churn-mlops-prod",
};

/** What the image's entry point runs for a container's args: the task name. */
function taskOf(args: string[]): string {
  if (args[0] === "serve") return "serve";
  if (args[0] === "task" && args.length >= 2) return args[1];
  throw new Error(`Unexpected container args ${JSON.stringify(args)}: expected ["serve"] or ["task", NAME]`);
}

/** The ConfigMap a pod template's volume points at. */
function configMapOfVolume(ms: Any[], template: Any, volumeName: string): Any {
  const volume = template.spec.volumes.find((v: Any) => v.name === volumeName);
  assert.ok(volume?.configMap, `volume ${volumeName} is not a ConfigMap volume`);
  return one(ms, "ConfigMap", volume.configMap.name);
}

for (const name of ALL) {
  Deno.test(`${name}: the Service, PodDisruptionBudget and HPA point at the API Deployment's pods and nothing else`, async () => {
    const ms = await rendered(name);
    const deployment = one(ms, "Deployment", "churn-api");
    const podLabels = deployment.spec.template.metadata.labels;
    assert.ok(selects(deployment.spec.selector.matchLabels, podLabels), "Deployment selector vs its pod labels");
    const service = one(ms, "Service", "churn-api");
    assert.ok(selects(service.spec.selector, podLabels), "Service selector does not match the API pods");
    const pdb = one(ms, "PodDisruptionBudget", "churn-api");
    assert.ok(selects(pdb.spec.selector.matchLabels, podLabels), "PDB selector does not match the API pods");
    for (const t of podTemplates(ms).filter((t) => t.object.kind !== "Deployment")) {
      const labels = t.template.metadata.labels;
      assert.ok(!selects(service.spec.selector, labels), `the Service would send traffic to ${t.owner}`);
      assert.ok(!selects(pdb.spec.selector.matchLabels, labels), `the PDB would count ${t.owner}`);
    }
    const hpa = one(ms, "HorizontalPodAutoscaler", "churn-api");
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: "churn-api" });
    assert.equal(hpa.spec.metrics[0].resource.name, "cpu");
    const replicas = deployment.spec.replicas;
    assert.ok(hpa.spec.minReplicas <= replicas && replicas <= hpa.spec.maxReplicas, `replicas ${replicas} vs HPA`);
    const cpuRequest = deployment.spec.template.spec.containers[0].resources.requests.cpu;
    assert.ok(cpuRequest, "an HPA on CPU utilisation needs a CPU request");
  });

  Deno.test(`${name}: probes use /live and /ready on the named port http, which is the config's server.port`, async () => {
    const ms = await rendered(name);
    const deployment = one(ms, "Deployment", "churn-api");
    const [api] = deployment.spec.template.spec.containers;
    assert.equal(api.livenessProbe.httpGet.path, "/live");
    assert.equal(api.startupProbe.httpGet.path, "/live");
    assert.equal(api.readinessProbe.httpGet.path, "/ready");
    for (const probe of [api.livenessProbe, api.startupProbe, api.readinessProbe]) {
      assert.equal(probe.httpGet.port, "http");
    }
    const http = api.ports.find((p: Any) => p.name === "http");
    assert.ok(http, "the API container has no port named http");
    // The port the service listens on: the configuration the container loads (see the ConfigMap test).
    const cm = configMapOfVolume(ms, deployment.spec.template, "config");
    const env = one(ms, "ConfigMap", envConfigMapName(api)).data.CHURN_ENV;
    const config = await loadMountedConfig(cm.data, env);
    assert.equal(http.containerPort, config.server.port);
    const service = one(ms, "Service", "churn-api");
    assert.deepEqual(service.spec.ports, [{ name: "http", port: 8000, targetPort: "http", protocol: "TCP" }]);
    const monitor = one(ms, "ServiceMonitor", "churn-api");
    assert.ok(selects(monitor.spec.selector.matchLabels, service.metadata.labels), "ServiceMonitor misses the Service");
    assert.deepEqual(monitor.spec.endpoints.map((e: Any) => [e.port, e.path]), [["http", "/metrics"]]);
  });

  Deno.test(`${name}: every container loads the config from the generated ConfigMap's keys and it validates`, async () => {
    const ms = await rendered(name);
    const sourceFiles = ["default.yaml", "dev.yaml", "stage.yaml", "prod.yaml"];
    for (const t of podTemplates(ms)) {
      const cm = configMapOfVolume(ms, t.template, "config");
      assert.match(cm.metadata.name, /^churn-config-[a-z0-9]{10}$/, "a generated, content-hashed name");
      for (const f of sourceFiles) {
        assert.equal(cm.data[f], await Deno.readTextFile(new URL(`config/${f}`, ROOT)), `${f} differs from config/`);
      }
      for (const { owner, container } of containersOf(t)) {
        const mounts: Any[] = container.volumeMounts;
        // config/mod.ts reads <app>/config/<name>.yaml: each is mounted from the key of the same name.
        for (const f of sourceFiles) {
          const m = mounts.find((m) => m.mountPath === `/app/config/${f}`);
          assert.ok(m, `${owner}/${container.name} does not mount /app/config/${f}`);
          assert.equal(m.name, "config");
          assert.equal(m.subPath, f);
          assert.ok(m.readOnly);
        }
        const file = container.env.find((e: Any) => e.name === "CHURN_MLOPS_CONFIG")?.value;
        assert.ok(file, `${owner}/${container.name} has no CHURN_MLOPS_CONFIG`);
        const dir = mounts.find((m) => m.name === "config" && !m.subPath && file.startsWith(m.mountPath + "/"));
        assert.ok(dir, `${owner}/${container.name}: ${file} is on no mount of the config volume`);
        const key = file.slice(dir.mountPath.length + 1);
        assert.ok(
          key in cm.data,
          `${owner}/${container.name}: CHURN_MLOPS_CONFIG names key ${key}, not in the ConfigMap`,
        );
        const envName = envConfigMapName(container);
        const env = one(ms, "ConfigMap", envName).data.CHURN_ENV;
        assert.equal(env, name === "base" ? "dev" : name, `${owner}: CHURN_ENV`);
        const config = await loadMountedConfig(cm.data, env, key);
        assert.equal(config.app.env, env);
        assert.equal(config.schedules.enabled, false, "schedules run as CronJobs, not in the pods");
        assert.equal(config.store.backend, "fs");
        const data = mounts.find((m) => m.name === "data");
        for (const [k, p] of Object.entries(config.paths)) {
          assert.ok(
            p.startsWith(data.mountPath + "/"),
            `paths.${k} = ${p} is not on the data volume ${data.mountPath}`,
          );
        }
      }
    }
  });

  Deno.test(`${name}: every ConfigMap, Secret and volume claim a pod refers to exists or is optional`, async () => {
    const ms = await rendered(name);
    const names = (kind: string) => new Set(ofKind(ms, kind).map((m) => m.metadata.name));
    const configMaps = names("ConfigMap");
    const secrets = names("Secret");
    const claims = names("PersistentVolumeClaim");
    for (const t of podTemplates(ms)) {
      for (const v of t.template.spec.volumes) {
        if (v.configMap) assert.ok(configMaps.has(v.configMap.name), `${t.owner}: ConfigMap ${v.configMap.name}`);
        if (v.persistentVolumeClaim) {
          assert.ok(
            claims.has(v.persistentVolumeClaim.claimName),
            `${t.owner}: PVC ${v.persistentVolumeClaim.claimName}`,
          );
        }
      }
      const volumeNames = new Set(t.template.spec.volumes.map((v: Any) => v.name));
      for (const { container } of containersOf(t)) {
        for (const m of container.volumeMounts) assert.ok(volumeNames.has(m.name), `${t.owner}: volume ${m.name}`);
        for (const e of container.env ?? []) {
          const cmRef = e.valueFrom?.configMapKeyRef;
          if (cmRef) {
            assert.ok(configMaps.has(cmRef.name), `${t.owner}: ConfigMap ${cmRef.name}`);
            assert.ok(cmRef.key in one(ms, "ConfigMap", cmRef.name).data, `${t.owner}: key ${cmRef.key}`);
          }
          const secretRef = e.valueFrom?.secretKeyRef;
          if (secretRef) {
            assert.ok(
              secrets.has(secretRef.name) || secretRef.optional === true,
              `${t.owner}: Secret ${secretRef.name}`,
            );
          }
        }
      }
    }
  });

  Deno.test(`${name}: the CronJobs run drift, drift:retrain, score then score-proxy, and retrain on the config's schedules in UTC`, async () => {
    const ms = await rendered(name);
    const cronJobs = ofKind(ms, "CronJob");
    const tasks = (c: Any) => containersOf(podTemplates([c])[0]).map(({ container }) => taskOf(container.args));
    assert.deepEqual(
      Object.fromEntries(cronJobs.map((c) => [c.metadata.name, [c.spec.schedule, tasks(c)]])),
      {
        "churn-drift": ["0 1 * * *", ["drift"]],
        "churn-drift-retrain": ["5 1 * * *", ["drift:retrain"]],
        "churn-score": ["0 2 * * *", ["score", "score-proxy"]],
        "churn-retrain": ["0 3 * * SUN", ["retrain"]],
      },
    );
    const config = loadConfig({ env: name === "base" ? "dev" : name, file: null });
    for (const c of cronJobs) {
      const key = c.metadata.annotations["churn-mlops/schedule-key"] as keyof typeof config.schedules;
      assert.equal(c.spec.schedule, config.schedules[key], `${c.metadata.name} vs schedules.${key}`);
      assert.equal(c.spec.timeZone, "Etc/UTC");
      assert.equal(c.spec.concurrencyPolicy, "Forbid");
      assert.ok(c.spec.startingDeadlineSeconds > 0 && c.spec.startingDeadlineSeconds <= 3600);
      assert.ok(c.spec.successfulJobsHistoryLimit >= 1 && c.spec.failedJobsHistoryLimit >= 1);
      assert.ok(c.spec.jobTemplate.spec.activeDeadlineSeconds > 0, `${c.metadata.name}: no deadline`);
      assert.equal(c.spec.jobTemplate.spec.template.spec.restartPolicy, "Never");
      // The Job controller names a CronJob's Jobs <name>-<minutes>; the name must leave room for that.
      assert.ok(c.metadata.name.length <= 52, `${c.metadata.name} is too long for a CronJob`);
    }
    const seed = one(ms, "Job", "churn-seed");
    assert.equal(seed.spec.template.spec.restartPolicy, "Never");
  });

  Deno.test(`${name}: every container runs the same image, pinned to a tag other than latest`, async () => {
    const ms = await rendered(name);
    const images = new Set<string>();
    for (const t of podTemplates(ms)) for (const { container } of containersOf(t)) images.add(container.image);
    assert.equal(images.size, 1, `images differ: ${[...images].join(", ")}`);
    const [image] = images;
    const tag = /:([^/:@]+)$/.exec(image)?.[1];
    assert.ok(tag && tag !== "latest", `image ${image} needs a version tag`);
  });

  Deno.test(`${name}: every pod meets the restricted Pod Security Standard with a read-only root and a writable /tmp`, async () => {
    const ms = await rendered(name);
    const ns = one(ms, "Namespace", NAMESPACES[name]);
    assert.equal(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
    for (const t of podTemplates(ms)) {
      const pod = t.template.spec;
      assert.equal(pod.securityContext.runAsNonRoot, true, t.owner);
      assert.ok(pod.securityContext.runAsUser > 0, t.owner);
      assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault", t.owner);
      assert.equal(pod.automountServiceAccountToken, false, t.owner);
      assert.ok(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC, t.owner);
      const tmp = pod.volumes.find((v: Any) => v.name === "tmp");
      assert.ok(tmp?.emptyDir, `${t.owner}: /tmp must be an emptyDir`);
      for (const { owner, container } of containersOf(t)) {
        const sc = container.securityContext;
        const where = `${owner}/${container.name}`;
        assert.equal(sc.allowPrivilegeEscalation, false, where);
        assert.equal(sc.readOnlyRootFilesystem, true, where);
        assert.deepEqual(sc.capabilities.drop, ["ALL"], where);
        assert.equal(sc.capabilities.add, undefined, where);
        assert.ok(!sc.privileged, where);
        assert.ok(container.volumeMounts.some((m: Any) => m.name === "tmp" && m.mountPath === "/tmp"), where);
      }
    }
  });

  Deno.test(`${name}: every container has CPU and memory requests within limits and a V8 heap below its memory limit`, async () => {
    const ms = await rendered(name);
    for (const t of podTemplates(ms)) {
      for (const { owner, container } of containersOf(t)) {
        const where = `${owner}/${container.name}`;
        const { requests, limits } = container.resources;
        for (const r of ["cpu", "memory"]) {
          assert.ok(requests?.[r] && limits?.[r], `${where}: ${r} request and limit`);
          assert.ok(quantity(requests[r]) <= quantity(limits[r]), `${where}: ${r} request above limit`);
        }
        const flags = container.env.find((e: Any) => e.name === "DENO_V8_FLAGS")?.value ?? "";
        const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(flags)?.[1]);
        assert.ok(heapMiB > 0, `${where}: DENO_V8_FLAGS sets no --max-old-space-size`);
        const limitMiB = quantity(limits.memory) / 2 ** 20;
        assert.ok(heapMiB <= 0.8 * limitMiB, `${where}: V8 heap ${heapMiB} MiB vs memory limit ${limitMiB} MiB`);
      }
    }
  });

  Deno.test(`${name}: every object is in the overlay's namespace and carries the part-of label`, async () => {
    const ms = await rendered(name);
    for (const m of ms) {
      if (m.kind === "Namespace") assert.equal(m.metadata.name, NAMESPACES[name]);
      else assert.equal(m.metadata.namespace, NAMESPACES[name], `${m.kind}/${m.metadata.name}`);
      assert.equal(m.metadata.labels?.["app.kubernetes.io/part-of"], "churn-mlops", `${m.kind}/${m.metadata.name}`);
    }
    assert.equal(ofKind(ms, "Namespace").length, 1);
  });
}

function envConfigMapName(container: Any): string {
  const ref = container.env.find((e: Any) => e.name === "CHURN_ENV")?.valueFrom?.configMapKeyRef;
  assert.ok(ref, `${container.name}: CHURN_ENV does not come from a ConfigMap`);
  return ref.name;
}

/** Loads the configuration exactly as a container would from the mounted ConfigMap files. */
async function loadMountedConfig(data: Record<string, string>, env: string, key = "kubernetes.yaml") {
  const dir = await Deno.makeTempDir({ prefix: "churn_k8s_config_" });
  try {
    for (const [k, v] of Object.entries(data)) await Deno.writeTextFile(`${dir}/${k}`, v);
    return loadConfig({ dir, env, file: `${dir}/${key}` });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("every Deployment, Job and CronJob container runs a task registered in tasks/mod.ts", async () => {
  const used = new Map<string, string>();
  for (const name of ALL) {
    for (const t of podTemplates(await rendered(name))) {
      for (const { owner, container } of containersOf(t)) {
        used.set(taskOf(container.args), `${owner}/${container.name}`);
      }
    }
  }
  assert.deepEqual(
    [...used.keys()].sort(),
    ["drift", "drift:retrain", "pipeline", "retrain", "score", "score-proxy", "serve"],
  );
  const missing = [...used].filter(([task]) => !TASKS.has(task)).map(([task, where]) => `${task} (${where})`);
  assert.deepEqual(
    missing,
    [],
    `tasks/mod.ts TASKS lacks ${missing.join(", ")}; registered: ${[...TASKS.keys()].join(", ")}`,
  );
  const ms = await rendered("base");
  assert.equal(taskOf(one(ms, "Job", "churn-seed").spec.template.spec.containers[0].args), "pipeline");
  assert.equal(taskOf(one(ms, "Deployment", "churn-api").spec.template.spec.containers[0].args), "serve");
});

Deno.test("the overlays set their own CHURN_ENV, replica count and image tag", async () => {
  const replicas: Record<string, number> = { base: 2, dev: 1, stage: 2, prod: 3 };
  for (const name of ALL) {
    const ms = await rendered(name);
    const deployment = one(ms, "Deployment", "churn-api");
    assert.equal(deployment.spec.replicas, replicas[name], `${name} replicas`);
    const env = one(ms, "ConfigMap", envConfigMapName(deployment.spec.template.spec.containers[0])).data.CHURN_ENV;
    assert.equal(env, name === "base" ? "dev" : name);
  }
  const names = new Set<string>();
  for (const name of OVERLAYS) {
    const ms = await rendered(name);
    names.add(ofKind(ms, "ConfigMap").find((c) => c.metadata.name.startsWith("churn-env-")).metadata.name);
  }
  assert.equal(names.size, 3, "each overlay's CHURN_ENV ConfigMap has its own content hash");
  const prod = one(await rendered("prod"), "Deployment", "churn-api").spec.template.spec.containers[0];
  assert.equal(prod.resources.limits.memory, "1Gi");
  assert.equal(
    prod.env.length,
    one(await rendered("base"), "Deployment", "churn-api").spec.template.spec.containers[0].env.length,
  );
});

Deno.test("every workload container gets the same environment and mounts (only the V8 heap and the API's admin token differ)", async () => {
  for (const name of ALL) {
    const ms = await rendered(name);
    const shapes = new Map<string, string[]>();
    for (const t of podTemplates(ms)) {
      for (const { owner, container } of containersOf(t)) {
        const env = container.env.filter((e: Any) => !["DENO_V8_FLAGS", "CHURN_ADMIN_TOKEN"].includes(e.name));
        const shape = JSON.stringify([env, container.volumeMounts]);
        shapes.set(shape, [...(shapes.get(shape) ?? []), `${owner}/${container.name}`]);
      }
    }
    assert.equal(
      shapes.size,
      1,
      `${name}: containers differ in env or mounts: ${JSON.stringify([...shapes.values()])}`,
    );
  }
});

/** The label matchers of a PromQL expression for one label, e.g. job_name=~"…". */
function matchers(expr: string, label: string): { op: string; value: string }[] {
  const re = new RegExp(`\\b${label}\\s*(=~|!~|!=|=)\\s*"([^"]*)"`, "g");
  return [...expr.matchAll(re)].map((m) => ({ op: m[1], value: m[2] }));
}

/** Prometheus regexes are anchored at both ends. */
function promRegex(value: string): RegExp {
  return new RegExp(`^(?:${value})$`);
}

Deno.test("the job-failure alerts match the Jobs of exactly the intended CronJobs, and the API alerts the scraped job", async () => {
  const ms = await rendered("prod");
  const rules = one(ms, "PrometheusRule", "churn-mlops").spec.groups.flatMap((g: Any) => g.rules);
  const byAlert = new Map<string, Any>(rules.map((r: Any) => [r.alert, r]));
  const cronJobs: string[] = ofKind(ms, "CronJob").map((c) => c.metadata.name);
  // A CronJob's Jobs are named <cronjob>-<scheduled time in minutes since the epoch>.
  const jobName = (cronJob: string) => `${cronJob}-${Math.floor(Date.UTC(2026, 0, 5, 1) / 60000)}`;
  const matched = (alert: string) => {
    const ms = matchers(byAlert.get(alert).expr, "job_name");
    assert.ok(ms.length > 0 && ms.every((m) => m.op === "=~"), `${alert} selects no job_name`);
    return cronJobs.filter((c) => ms.every((m) => promRegex(m.value).test(jobName(c)))).sort();
  };
  assert.deepEqual(matched("ChurnDriftJobFailed"), ["churn-drift"]);
  assert.deepEqual(matched("ChurnScheduledJobFailed"), ["churn-drift-retrain", "churn-retrain", "churn-score"]);
  assert.ok(!promRegex(matchers(byAlert.get("ChurnDriftJobFailed").expr, "job_name")[0].value).test("churn-seed"));

  // Without jobLabel the Prometheus Operator sets job to the Service's name.
  const monitor = one(ms, "ServiceMonitor", "churn-api");
  assert.equal(monitor.spec.jobLabel, undefined);
  const service = ofKind(ms, "Service").find((s) => selects(monitor.spec.selector.matchLabels, s.metadata.labels));
  for (
    const alert of ["ChurnApiHighErrorRate", "ChurnApiHighLatencyP95", "ChurnApiNoModelLoaded", "ChurnDriftStatusFail"]
  ) {
    const jobs = matchers(byAlert.get(alert).expr, "job");
    assert.ok(jobs.length > 0, `${alert} does not select the scraped job`);
    for (const j of jobs) assert.deepEqual([j.op, j.value], ["=", service.metadata.name], alert);
  }
  const thresholds: Record<string, RegExp> = {
    ChurnApiHighErrorRate: /status=~"5\.\."[\s\S]*> 0\.05\s*$/,
    ChurnApiHighLatencyP95: /histogram_quantile\(0\.95,[\s\S]*\)\s*> 1\s*$/,
    ChurnDriftStatusFail: /churn_drift_status[\s\S]*== 2\s*$/,
    ChurnApiNoModelLoaded: /churn_model_info/,
  };
  for (const [alert, re] of Object.entries(thresholds)) assert.match(byAlert.get(alert).expr, re, alert);
  assert.equal(byAlert.get("ChurnApiHighErrorRate").for, "5m");
  assert.equal(byAlert.get("ChurnApiHighLatencyP95").for, "5m");
});
