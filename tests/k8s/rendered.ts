/**
 * Test helper: the rendered output of `k8s/base` and each overlay, and accessors for the parts the
 * tests look at (pod templates, containers, objects by kind).
 *
 * @module
 */

import { type Manifest, renderKustomization } from "../../k8s/render.ts";

/** The repository root (with a trailing slash). */
export const ROOT = new URL("../../", import.meta.url);

/** The kustomizations under `k8s/`, by short name. */
export const KUSTOMIZATIONS: Readonly<Record<string, string>> = {
  base: "k8s/base",
  dev: "k8s/overlays/dev",
  stage: "k8s/overlays/stage",
  prod: "k8s/overlays/prod",
};

/** The overlays and the CHURN_ENV each must set. */
export const OVERLAYS = ["dev", "stage", "prod"] as const;

const cache = new Map<string, Promise<Manifest[]>>();

/** Renders a kustomization under `k8s/` (as `kubectl kustomize --load-restrictor LoadRestrictionsNone`). */
export function rendered(name: string): Promise<Manifest[]> {
  const dir = KUSTOMIZATIONS[name];
  if (dir === undefined) throw new Error(`Unknown kustomization "${name}"`);
  let p = cache.get(name);
  if (!p) {
    p = renderKustomization(new URL(dir, ROOT).pathname, { loadRestrictor: "LoadRestrictionsNone" });
    cache.set(name, p);
  }
  return p.then((ms) => structuredClone(ms));
}

/** A plain object view for reading nested fields in tests. */
// deno-lint-ignore no-explicit-any
export type Any = any;

/** The objects of one kind. */
export function ofKind(ms: readonly Manifest[], kind: string): Any[] {
  return ms.filter((m) => m.kind === kind);
}

/** The one object of a kind and name; throws naming both when it is missing. */
export function one(ms: readonly Manifest[], kind: string, name: string): Any {
  const hits = ms.filter((m) => m.kind === kind && m.metadata.name === name);
  if (hits.length !== 1) throw new Error(`Expected one ${kind} named ${name}, found ${hits.length}`);
  return hits[0];
}

/** A workload's pod template with where it came from. */
export interface PodTemplate {
  /** `Kind/name` of the owning object. */
  owner: string;
  /** The owning object. */
  object: Any;
  /** The template (`metadata` and `spec`). */
  template: Any;
}

/** The pod templates of every Deployment, Job and CronJob. */
export function podTemplates(ms: readonly Manifest[]): PodTemplate[] {
  const out: PodTemplate[] = [];
  for (const m of ms as Any[]) {
    const owner = `${m.kind}/${m.metadata.name}`;
    if (m.kind === "Deployment" || m.kind === "Job") out.push({ owner, object: m, template: m.spec.template });
    if (m.kind === "CronJob") out.push({ owner, object: m, template: m.spec.jobTemplate.spec.template });
  }
  return out;
}

/** Every container and init container of a pod template, with its owner. */
export function containersOf(t: PodTemplate): { owner: string; container: Any; init: boolean }[] {
  return [
    ...(t.template.spec.initContainers ?? []).map((c: Any) => ({ owner: t.owner, container: c, init: true })),
    ...(t.template.spec.containers ?? []).map((c: Any) => ({ owner: t.owner, container: c, init: false })),
  ];
}

/** Whether every label of `selector` is among `labels`. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Kubernetes quantity to a number (bytes or cores). */
export function quantity(q: string | number): number {
  if (typeof q === "number") return q;
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q);
  if (!m) throw new Error(`Unparseable quantity "${q}"`);
  const unit: Record<string, number> = {
    "": 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(m[1]) * unit[m[2] ?? ""];
}
