/**
 * A small kustomize renderer for the subset of kustomize that `k8s/` uses, so
 * the manifests can be rendered and tested without the kustomize binary.
 *
 * Supported kustomization fields: `resources` (files and kustomization
 * folders), `namespace`, `labels` (without `includeSelectors`), `images`,
 * `replicas`, `patches` (strategic merge or JSON 6902, from a file or inline,
 * with an optional `target`), `configMapGenerator` (`files`, `literals`,
 * `behavior`, `options`) and `generatorOptions`. Any other field is an error,
 * never silently ignored. The transformers run in kustomize's order (patches,
 * namespace, labels, replicas, images), generated ConfigMaps get kustomize's
 * content-hash name suffix and every reference to them is rewritten, and the
 * output is sorted in kustomize's legacy order.
 *
 * Like kustomize, files outside a kustomization's folder are refused unless
 * the load restrictor is `LoadRestrictionsNone` (`k8s/base` generates its
 * ConfigMap from the repository's `config/`, so it needs that flag, as
 * `kubectl kustomize --load-restrictor LoadRestrictionsNone` does).
 *
 * CLI:
 * - `deno run -A k8s/render.ts [--load-restrictor LoadRestrictionsNone] DIR` prints the rendered YAML;
 * - `deno run -A k8s/render.ts rules [--load-restrictor LoadRestrictionsNone] DIR` prints the rule groups of
 *   the PrometheusRule objects as a Prometheus rules file (for `promtool`).
 *
 * @module
 */

import { parse as parseYaml, parseAllDocuments, stringify } from "yaml";

/** A Kubernetes object as plain data. */
export interface Manifest {
  /** API group and version, e.g. `apps/v1`. */
  apiVersion: string;
  /** Kind, e.g. `Deployment`. */
  kind: string;
  /** Name, namespace, labels and the rest. */
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  /** Every other field. */
  [key: string]: unknown;
}

/** Whether files outside a kustomization's folder may be read (kustomize's `--load-restrictor`). */
export type LoadRestrictor = "LoadRestrictionsRootOnly" | "LoadRestrictionsNone";

/** Options of {@link renderKustomization}. */
export interface RenderOptions {
  /** Default `LoadRestrictionsRootOnly`, as in kustomize. */
  loadRestrictor?: LoadRestrictor;
}

/** A kustomization that cannot be rendered. */
export class KustomizeError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "KustomizeError";
  }
}

type Obj = Record<string, unknown>;

interface Resource {
  obj: Manifest;
  /** Set on generated ConfigMaps: whether kustomize's content-hash name suffix is due. */
  generated?: { needsHash: boolean };
}

const SUPPORTED_FIELDS = new Set([
  "apiVersion",
  "kind",
  "resources",
  "namespace",
  "labels",
  "images",
  "replicas",
  "patches",
  "configMapGenerator",
  "generatorOptions",
]);

/** Cluster-scoped kinds among those kustomize knows; everything else gets the namespace. */
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "PersistentVolume",
  "StorageClass",
  "PriorityClass",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "APIService",
  "IngressClass",
  "RuntimeClass",
]);

/** kustomize's legacy output order (`--reorder legacy`): these kinds first, in this order… */
const ORDER_FIRST = [
  "Namespace",
  "ResourceQuota",
  "StorageClass",
  "CustomResourceDefinition",
  "ServiceAccount",
  "PodSecurityPolicy",
  "Role",
  "ClusterRole",
  "RoleBinding",
  "ClusterRoleBinding",
  "ConfigMap",
  "Secret",
  "Endpoints",
  "Service",
  "LimitRange",
  "PriorityClass",
  "PersistentVolume",
  "PersistentVolumeClaim",
  "Deployment",
  "StatefulSet",
  "CronJob",
  "PodDisruptionBudget",
];
/** …and these last. */
const ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"];

/** Strategic-merge keys of the lists `k8s/` patches (from the Kubernetes API's patchMergeKey). */
const MERGE_KEYS: Record<string, string> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  env: "name",
  volumes: "name",
  volumeMounts: "mountPath",
  imagePullSecrets: "name",
};

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function basename(path: string): string {
  return path.replace(/\/+$/, "").split("/").pop() ?? path;
}

/** Joins and normalises a path (resolving `.` and `..`). */
function resolvePath(base: string, rel: string): string {
  const parts = (rel.startsWith("/") ? rel : `${base}/${rel}`).split("/");
  const out: string[] = [];
  for (const p of parts) {
    if (p === "" || p === ".") continue;
    if (p === "..") out.pop();
    else out.push(p);
  }
  return "/" + out.join("/");
}

function absolute(path: string): string {
  return resolvePath(path.startsWith("/") ? "/" : Deno.cwd(), path);
}

function idOf(o: Manifest): string {
  return `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? "~"}/${o.metadata.name}`;
}

function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new KustomizeError(`Cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (e) {
    throw new KustomizeError(`Cannot read resource ${path}: ${(e as Error).message}`);
  }
}

/** Parses a multi-document YAML file into manifests, naming the file on any error. */
export function parseManifests(text: string, source: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new KustomizeError(`Cannot parse ${source}: ${doc.errors[0].message}`);
    const value = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isObj(value) || typeof value.apiVersion !== "string" || typeof value.kind !== "string") {
      throw new KustomizeError(`Invalid resource in ${source}: every document needs apiVersion and kind`);
    }
    if (!isObj(value.metadata) || typeof value.metadata.name !== "string" || value.metadata.name === "") {
      throw new KustomizeError(`Invalid resource in ${source}: ${value.kind} has no metadata.name`);
    }
    out.push(value as Manifest);
  }
  return out;
}

function checkRestrictor(root: string, path: string, options: RenderOptions): void {
  if ((options.loadRestrictor ?? "LoadRestrictionsRootOnly") === "LoadRestrictionsNone") return;
  if (path !== root && !path.startsWith(root.endsWith("/") ? root : root + "/")) {
    throw new KustomizeError(`security; file '${path}' is not in or below '${root}'`);
  }
}

async function loadKustomization(dir: string): Promise<{ file: string; k: Obj }> {
  for (const name of ["kustomization.yaml", "kustomization.yml", "Kustomization"]) {
    const file = `${dir}/${name}`;
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch {
      continue;
    }
    let k: unknown;
    try {
      k = parseYaml(text);
    } catch (e) {
      throw new KustomizeError(`Cannot parse ${file}: ${(e as Error).message.split("\n")[0]}`);
    }
    if (!isObj(k)) throw new KustomizeError(`Invalid kustomization ${file}: the top level must be a mapping`);
    for (const key of Object.keys(k)) {
      if (!SUPPORTED_FIELDS.has(key)) {
        throw new KustomizeError(
          `Unsupported kustomization field "${key}" in ${file}: k8s/render.ts renders ${
            [...SUPPORTED_FIELDS].join(", ")
          }`,
        );
      }
    }
    return { file, k };
  }
  throw new KustomizeError(`No kustomization.yaml in ${dir}`);
}

function stringList(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
    throw new KustomizeError(`Invalid ${what}: expected a list of strings`);
  }
  return v as string[];
}

function objList(v: unknown, what: string): Obj[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => !isObj(s))) {
    throw new KustomizeError(`Invalid ${what}: expected a list of mappings`);
  }
  return v as Obj[];
}

// ---------------------------------------------------------------------------
// Generators

/** Go's `encoding/json` escaping of `<`, `>`, `&`, U+2028 and U+2029, which kustomize's hash sees. */
function goJson(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (isObj(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
    return v;
  };
  return JSON.stringify(sortKeys(value))
    .replaceAll("<", "\\u003c")
    .replaceAll(">", "\\u003e")
    .replaceAll("&", "\\u0026")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}

/**
 * kustomize's name suffix of a ConfigMap: SHA-256 of the JSON of its kind, name and data, the first
 * ten hex digits with 0, 1, 3, a and e replaced (so the suffix never looks like a number or a word).
 */
export async function configMapHash(name: string, data: Record<string, string>): Promise<string> {
  const encoded = goJson({ kind: "ConfigMap", name, data });
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(encoded)));
  const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  const swap: Record<string, string> = { "0": "g", "1": "h", "3": "k", a: "m", e: "t" };
  return [...hex.slice(0, 10)].map((c) => swap[c] ?? c).join("");
}

async function generateConfigMap(
  root: string,
  spec: Obj,
  globalOptions: Obj,
  file: string,
  options: RenderOptions,
): Promise<{ obj: Manifest; behavior: string; needsHash: boolean }> {
  const name = spec.name;
  if (typeof name !== "string" || name === "") throw new KustomizeError(`configMapGenerator without a name in ${file}`);
  for (const key of Object.keys(spec)) {
    if (!["name", "namespace", "behavior", "files", "literals", "options"].includes(key)) {
      throw new KustomizeError(`Unsupported configMapGenerator field "${key}" for ${name} in ${file}`);
    }
  }
  const data: Record<string, string> = {};
  const add = (key: string, value: string) => {
    if (key in data) throw new KustomizeError(`Duplicate key "${key}" in configMapGenerator ${name} in ${file}`);
    data[key] = value;
  };
  for (const entry of stringList(spec.files, `files of configMapGenerator ${name}`)) {
    const eq = entry.indexOf("=");
    const rel = eq >= 0 ? entry.slice(eq + 1) : entry;
    const path = resolvePath(root, rel);
    checkRestrictor(root, path, options);
    add(eq >= 0 ? entry.slice(0, eq) : basename(rel), await readText(path, `file of configMapGenerator ${name}:`));
  }
  for (const entry of stringList(spec.literals, `literals of configMapGenerator ${name}`)) {
    const eq = entry.indexOf("=");
    if (eq <= 0) {
      throw new KustomizeError(`Invalid literal "${entry}" in configMapGenerator ${name}: expected KEY=VALUE`);
    }
    let value = entry.slice(eq + 1);
    if (value.length >= 2 && /^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    add(entry.slice(0, eq), value);
  }
  const opts = { ...globalOptions, ...(isObj(spec.options) ? spec.options : {}) };
  const metadata: Manifest["metadata"] = { name };
  if (typeof spec.namespace === "string") metadata.namespace = spec.namespace;
  if (isObj(opts.labels)) metadata.labels = { ...(opts.labels as Record<string, string>) };
  if (isObj(opts.annotations)) metadata.annotations = { ...opts.annotations };
  const behavior = typeof spec.behavior === "string" ? spec.behavior : "create";
  if (!["create", "merge", "replace"].includes(behavior)) {
    throw new KustomizeError(`Invalid behavior "${behavior}" of configMapGenerator ${name} in ${file}`);
  }
  return {
    obj: { apiVersion: "v1", kind: "ConfigMap", metadata, data },
    behavior,
    needsHash: !opts.disableNameSuffixHash,
  };
}

// ---------------------------------------------------------------------------
// Patches

/** Applies a strategic merge patch for the fields `k8s/` patches (merge keys in {@link MERGE_KEYS}). */
export function strategicMerge(target: unknown, patch: unknown, field = ""): unknown {
  if (isObj(patch)) {
    if ("$patch" in patch || Object.keys(patch).some((k) => k.startsWith("$"))) {
      throw new KustomizeError(`Unsupported strategic merge directive in patch of ${field || "the root"}`);
    }
    if (!isObj(target)) return structuredClone(patch);
    const out: Obj = { ...target };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = k in target ? strategicMerge(target[k], v, k) : structuredClone(v);
    }
    return out;
  }
  if (Array.isArray(patch)) {
    const key = MERGE_KEYS[field] ?? (field === "ports" ? "containerPort" : undefined);
    if (key === undefined || !Array.isArray(target) || !patch.every((p) => isObj(p) && key in p)) {
      return structuredClone(patch);
    }
    const out = [...target];
    for (const item of patch as Obj[]) {
      const i = out.findIndex((t) => isObj(t) && t[key] === item[key]);
      if (i >= 0) out[i] = strategicMerge(out[i], item, field);
      else out.push(structuredClone(item));
    }
    return out;
  }
  return patch;
}

function pointer(path: string): string[] {
  if (!path.startsWith("/")) throw new KustomizeError(`Invalid JSON pointer "${path}": must start with /`);
  return path.slice(1).split("/").map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** Applies JSON 6902 operations (`add`, `replace`, `remove`, `test`). */
export function jsonPatch(doc: unknown, ops: readonly Obj[]): unknown {
  const root = structuredClone(doc);
  for (const op of ops) {
    const path = typeof op.path === "string" ? op.path : "";
    const parts = pointer(path);
    const last = parts.pop()!;
    let parent: unknown = root;
    for (const p of parts) {
      parent = Array.isArray(parent) ? parent[Number(p)] : isObj(parent) ? parent[p] : undefined;
      if (parent === undefined) throw new KustomizeError(`JSON patch ${op.op} ${path}: no such path`);
    }
    const exists = Array.isArray(parent)
      ? last === "-" || Number(last) < parent.length
      : isObj(parent) && last in parent;
    switch (op.op) {
      case "add":
        if (Array.isArray(parent)) {
          if (last === "-") parent.push(structuredClone(op.value));
          else parent.splice(Number(last), 0, structuredClone(op.value));
        } else if (isObj(parent)) parent[last] = structuredClone(op.value);
        else throw new KustomizeError(`JSON patch add ${path}: the parent is not a container`);
        break;
      case "replace":
      case "remove":
        if (!exists || last === "-") throw new KustomizeError(`JSON patch ${op.op} ${path}: no such path`);
        if (Array.isArray(parent)) {
          if (op.op === "replace") parent[Number(last)] = structuredClone(op.value);
          else parent.splice(Number(last), 1);
        } else if (isObj(parent)) {
          if (op.op === "replace") parent[last] = structuredClone(op.value);
          else delete parent[last];
        }
        break;
      case "test": {
        const actual = Array.isArray(parent) ? parent[Number(last)] : isObj(parent) ? parent[last] : undefined;
        if (JSON.stringify(actual) !== JSON.stringify(op.value)) {
          throw new KustomizeError(`JSON patch test ${path} failed: found ${JSON.stringify(actual)}`);
        }
        break;
      }
      default:
        throw new KustomizeError(`Unsupported JSON patch operation "${String(op.op)}" at ${path}`);
    }
  }
  return root;
}

function matchesTarget(o: Manifest, target: Obj): boolean {
  const exact = (field: string, actual: string | undefined) => {
    const want = target[field];
    return want === undefined || (actual !== undefined && new RegExp(`^(?:${String(want)})$`).test(actual));
  };
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  if (target.labelSelector !== undefined || target.annotationSelector !== undefined) {
    throw new KustomizeError("Unsupported patch target selector: use kind and name");
  }
  return exact("kind", o.kind) && exact("name", o.metadata.name) && exact("group", group) &&
    exact("version", version) && exact("namespace", o.metadata.namespace);
}

async function applyPatches(resources: Resource[], root: string, k: Obj, file: string, options: RenderOptions) {
  for (const p of objList(k.patches, `patches in ${file}`)) {
    let text: string;
    let source: string;
    if (typeof p.path === "string") {
      const path = resolvePath(root, p.path);
      checkRestrictor(root, path, options);
      text = await readText(path, "patch");
      source = path;
    } else if (typeof p.patch === "string") {
      text = p.patch;
      source = `an inline patch in ${file}`;
    } else throw new KustomizeError(`A patch in ${file} needs path or patch`);
    let body: unknown;
    try {
      body = parseYaml(text);
    } catch (e) {
      throw new KustomizeError(`Cannot parse ${source}: ${(e as Error).message.split("\n")[0]}`);
    }
    const target = isObj(p.target) ? p.target : undefined;
    if (Array.isArray(body)) {
      if (!target) throw new KustomizeError(`The JSON 6902 patch ${source} needs a target`);
      const hits = resources.filter((r) => matchesTarget(r.obj, target));
      if (hits.length === 0) throw new KustomizeError(`No resource matches the target of ${source}`);
      for (const r of hits) r.obj = jsonPatch(r.obj, body as Obj[]) as Manifest;
      continue;
    }
    if (!isObj(body)) throw new KustomizeError(`Invalid patch ${source}: expected a mapping or a list of operations`);
    let hits: Resource[];
    if (target) hits = resources.filter((r) => matchesTarget(r.obj, target));
    else {
      const meta = isObj(body.metadata) ? body.metadata : {};
      hits = resources.filter((r) =>
        r.obj.kind === body.kind && r.obj.metadata.name === meta.name &&
        groupOf(r.obj.apiVersion) === groupOf(String(body.apiVersion ?? "")) &&
        (meta.namespace === undefined || r.obj.metadata.namespace === meta.namespace)
      );
    }
    if (hits.length === 0) throw new KustomizeError(`No resource matches the patch ${source}`);
    for (const r of hits) {
      const patch: Obj = { ...body };
      if (target) {
        // A targeted patch may name any object: only its content applies.
        delete patch.metadata;
        if (isObj(body.metadata)) {
          const { name: _n, namespace: _ns, ...rest } = body.metadata;
          if (Object.keys(rest).length > 0) patch.metadata = rest;
        }
      }
      delete patch.apiVersion;
      delete patch.kind;
      const merged = strategicMerge(r.obj, patch) as Manifest;
      r.obj = merged;
    }
  }
}

// ---------------------------------------------------------------------------
// Transformers

function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) return { name: rest.slice(0, colon), tag: rest.slice(colon + 1), digest };
  return { name: rest, digest };
}

function visitContainers(node: unknown, fn: (c: Obj) => void): void {
  if (Array.isArray(node)) node.forEach((n) => visitContainers(n, fn));
  else if (isObj(node)) {
    for (const [k, v] of Object.entries(node)) {
      if ((k === "containers" || k === "initContainers") && Array.isArray(v)) v.filter(isObj).forEach(fn);
      visitContainers(v, fn);
    }
  }
}

function applyImages(resources: Resource[], images: Obj[]): void {
  for (const r of resources) {
    visitContainers(r.obj, (c) => {
      if (typeof c.image !== "string") return;
      const img = splitImage(c.image);
      const rule = images.find((i) => i.name === img.name);
      if (!rule) return;
      const name = typeof rule.newName === "string" ? rule.newName : img.name;
      if (typeof rule.digest === "string") c.image = `${name}@${rule.digest}`;
      else if (rule.newTag !== undefined) c.image = `${name}:${String(rule.newTag)}`;
      else c.image = `${name}${img.tag ? ":" + img.tag : ""}${img.digest ? "@" + img.digest : ""}`;
    });
  }
}

/** Pod template metadata paths of the workload kinds, for `labels[].includeTemplates`. */
function templateMetas(o: Manifest): Obj[] {
  const spec = isObj(o.spec) ? o.spec : undefined;
  if (!spec) return [];
  const metaOf = (holder: unknown): Obj | undefined => {
    if (!isObj(holder)) return undefined;
    if (!isObj(holder.metadata)) holder.metadata = {};
    return holder.metadata as Obj;
  };
  if (["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"].includes(o.kind)) {
    return [metaOf(spec.template)].filter((m): m is Obj => m !== undefined);
  }
  if (o.kind === "CronJob" && isObj(spec.jobTemplate)) {
    const jt = spec.jobTemplate;
    return [metaOf(jt), isObj(jt.spec) ? metaOf(jt.spec.template) : undefined].filter((m): m is Obj => m !== undefined);
  }
  return [];
}

function applyLabels(resources: Resource[], rules: Obj[], file: string): void {
  for (const rule of rules) {
    if (rule.includeSelectors === true) {
      throw new KustomizeError(`Unsupported labels.includeSelectors in ${file}: set selectors in the resources`);
    }
    const pairs = isObj(rule.pairs) ? rule.pairs as Record<string, string> : {};
    for (const r of resources) {
      r.obj.metadata.labels = { ...(r.obj.metadata.labels ?? {}), ...pairs };
      if (rule.includeTemplates === true) {
        for (const m of templateMetas(r.obj)) m.labels = { ...(isObj(m.labels) ? m.labels : {}), ...pairs };
      }
    }
  }
}

function applyNamespace(resources: Resource[], namespace: string): void {
  for (const r of resources) {
    if (r.obj.kind === "Namespace") r.obj.metadata.name = namespace;
    else if (!CLUSTER_SCOPED.has(r.obj.kind)) r.obj.metadata.namespace = namespace;
  }
}

function applyReplicas(resources: Resource[], rules: Obj[], file: string): void {
  for (const rule of rules) {
    const hits = resources.filter((r) =>
      r.obj.metadata.name === rule.name && ["Deployment", "StatefulSet", "ReplicaSet"].includes(r.obj.kind)
    );
    if (hits.length === 0) throw new KustomizeError(`replicas in ${file}: no workload named ${String(rule.name)}`);
    for (const r of hits) (r.obj.spec as Obj).replicas = Number(rule.count);
  }
}

// ---------------------------------------------------------------------------
// Build

async function build(dir: string, options: RenderOptions, stack: string[]): Promise<Resource[]> {
  const root = absolute(dir);
  if (stack.includes(root)) throw new KustomizeError(`Cycle in kustomizations: ${[...stack, root].join(" → ")}`);
  const { file, k } = await loadKustomization(root);
  const resources: Resource[] = [];
  const add = (r: Resource, source: string) => {
    if (resources.some((x) => idOf(x.obj) === idOf(r.obj))) {
      throw new KustomizeError(`May not add resource with an already registered id ${idOf(r.obj)} (from ${source})`);
    }
    resources.push(r);
  };
  for (const entry of stringList(k.resources, `resources in ${file}`)) {
    const path = resolvePath(root, entry);
    if (await isDirectory(path)) {
      for (const r of await build(path, options, [...stack, root])) add(r, path);
    } else {
      checkRestrictor(root, path, options);
      for (const obj of parseManifests(await readText(path, "resource"), path)) add({ obj }, path);
    }
  }
  const globalOptions = isObj(k.generatorOptions) ? k.generatorOptions : {};
  for (const spec of objList(k.configMapGenerator, `configMapGenerator in ${file}`)) {
    const g = await generateConfigMap(root, spec, globalOptions, file, options);
    const existing = resources.find((r) =>
      r.obj.kind === "ConfigMap" && r.obj.metadata.name === g.obj.metadata.name &&
      (g.obj.metadata.namespace === undefined || r.obj.metadata.namespace === g.obj.metadata.namespace)
    );
    if (g.behavior === "create") add({ obj: g.obj, generated: { needsHash: g.needsHash } }, file);
    else if (!existing) {
      throw new KustomizeError(`configMapGenerator ${g.obj.metadata.name} in ${file}: nothing to ${g.behavior}`);
    } else if (g.behavior === "merge") {
      existing.obj.data = { ...(existing.obj.data as Obj ?? {}), ...(g.obj.data as Obj) };
      existing.obj.metadata.labels = { ...(existing.obj.metadata.labels ?? {}), ...(g.obj.metadata.labels ?? {}) };
    } else {
      existing.obj.data = g.obj.data;
    }
  }
  await applyPatches(resources, root, k, file, options);
  if (typeof k.namespace === "string") applyNamespace(resources, k.namespace);
  applyLabels(resources, objList(k.labels, `labels in ${file}`), file);
  applyReplicas(resources, objList(k.replicas, `replicas in ${file}`), file);
  applyImages(resources, objList(k.images, `images in ${file}`));
  return resources;
}

function renameConfigMapRefs(node: unknown, renames: Map<string, string>, namespace: string | undefined): void {
  if (Array.isArray(node)) {
    node.forEach((n) => renameConfigMapRefs(n, renames, namespace));
    return;
  }
  if (!isObj(node)) return;
  for (const [k, v] of Object.entries(node)) {
    if ((k === "configMap" || k === "configMapKeyRef" || k === "configMapRef") && isObj(v)) {
      const to = renames.get(`${namespace ?? "~"}/${String(v.name)}`);
      if (to !== undefined) v.name = to;
    }
    renameConfigMapRefs(v, renames, namespace);
  }
}

function kindRank(kind: string): number {
  const first = ORDER_FIRST.indexOf(kind);
  if (first >= 0) return first;
  const last = ORDER_LAST.indexOf(kind);
  return last >= 0 ? ORDER_FIRST.length + 1 + last : ORDER_FIRST.length;
}

/**
 * Renders the kustomization in `dir` like `kustomize build` and returns the objects in kustomize's
 * legacy order.
 *
 * @throws {KustomizeError} naming the file and field that cannot be rendered.
 */
export async function renderKustomization(dir: string, options: RenderOptions = {}): Promise<Manifest[]> {
  const resources = await build(dir, options, []);
  const renames = new Map<string, string>();
  for (const r of resources) {
    if (!r.generated?.needsHash) continue;
    const name = r.obj.metadata.name;
    const hashed = `${name}-${await configMapHash(name, (r.obj.data ?? {}) as Record<string, string>)}`;
    renames.set(`${r.obj.metadata.namespace ?? "~"}/${name}`, hashed);
    r.obj.metadata.name = hashed;
  }
  for (const r of resources) {
    if (r.obj.kind !== "ConfigMap") renameConfigMapRefs(r.obj, renames, r.obj.metadata.namespace);
  }
  const out = resources.map((r) => r.obj);
  return out.sort((a, b) =>
    kindRank(a.kind) - kindRank(b.kind) ||
    `${a.apiVersion}/${a.kind}`.localeCompare(`${b.apiVersion}/${b.kind}`) ||
    (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") ||
    a.metadata.name.localeCompare(b.metadata.name)
  );
}

/** Prints manifests as one multi-document YAML stream. */
export function toYaml(manifests: readonly Manifest[]): string {
  return manifests.map((m) => stringify(m, { lineWidth: 0 })).join("---\n");
}

/**
 * The rule groups of every PrometheusRule among `manifests`, as a Prometheus rules file (what
 * `promtool check rules` and `promtool test rules` read).
 *
 * @throws {KustomizeError} when there is no PrometheusRule.
 */
export function prometheusRulesFile(manifests: readonly Manifest[]): string {
  const groups = manifests.filter((m) => m.kind === "PrometheusRule").flatMap((m) => {
    const spec = isObj(m.spec) ? m.spec : {};
    return Array.isArray(spec.groups) ? spec.groups : [];
  });
  if (groups.length === 0) throw new KustomizeError("No PrometheusRule with rule groups among the manifests");
  return stringify({ groups }, { lineWidth: 0 });
}

const USAGE = "Usage: deno run -A k8s/render.ts [rules] [--load-restrictor LoadRestrictionsNone] DIR";

/** The command line; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let rules = false;
  let restrictor: LoadRestrictor = "LoadRestrictionsRootOnly";
  const dirs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "rules" && dirs.length === 0 && !rules) rules = true;
    else if (a === "--load-restrictor" || a.startsWith("--load-restrictor=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      if (v !== "LoadRestrictionsNone" && v !== "LoadRestrictionsRootOnly") {
        console.error(`Invalid --load-restrictor "${v}": expected LoadRestrictionsNone or LoadRestrictionsRootOnly`);
        return 2;
      }
      restrictor = v;
    } else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      return 0;
    } else if (a.startsWith("-")) {
      console.error(`Unknown flag "${a}".\n${USAGE}`);
      return 2;
    } else dirs.push(a);
  }
  if (dirs.length !== 1) {
    console.error(USAGE);
    return 2;
  }
  try {
    const manifests = await renderKustomization(dirs[0], { loadRestrictor: restrictor });
    console.log(rules ? prometheusRulesFile(manifests) : toYaml(manifests));
    return 0;
  } catch (e) {
    if (e instanceof KustomizeError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
