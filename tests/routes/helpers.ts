/**
 * Test helpers for the HTTP service: one real small pipeline run per test
 * module (generate → … → train both models → promote → score, in a temporary
 * folder removed when the module unloads), and apps built on it with
 * `createApp` — no server.
 *
 * @module
 */

import type { Config } from "../../config/mod.ts";
import { type Hono } from "hono";
import {
  type AppEnv,
  createApp,
  createLogger,
  type LoadedModel,
  ModelHolder,
  ServiceMetrics,
} from "../../routes/mod.ts";
import { Registry } from "../../tasks/registry.ts";
import { type ArtifactStore, FsStore } from "../../tasks/store/mod.ts";
import { type SmallPipeline, smallPipeline } from "../helpers/small_pipeline.ts";

/** The shared pipeline run of a test module and its two model versions. */
export interface Fixture {
  /** The pipeline run. */
  pipeline: SmallPipeline;
  /** Its configuration. */
  config: Config;
  /** The version production points at after the run. */
  production: string;
  /** The other trained version. */
  other: string;
}

let shared: Promise<Fixture> | null = null;

/** Runs the small pipeline once per test module and returns it. */
export function fixture(): Promise<Fixture> {
  shared ??= (async () => {
    const pipeline = await smallPipeline();
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(pipeline.dir, { recursive: true });
      } catch {
        // already gone
      }
    });
    const store = new FsStore("/");
    const registry = new Registry(store, pipeline.config);
    const { state } = await registry.read();
    const production = state.aliases.production.version;
    const other = (await registry.versions()).map((v) => v.version).find((v) => v !== production)!;
    return { pipeline, config: pipeline.config, production, other };
  })();
  return shared;
}

/** A configuration with some keys replaced. */
export function withConfig(
  config: Config,
  patch: { server?: Partial<Config["server"]>; paths?: Partial<Config["paths"]> },
): Config {
  return {
    ...config,
    server: { ...config.server, ...patch.server },
    paths: { ...config.paths, ...patch.paths },
  };
}

/** An app built on a store, with its parts and the log lines it wrote. */
export interface TestApp {
  /** The app. */
  app: Hono<AppEnv>;
  /** The model holder. */
  holder: ModelHolder;
  /** The metrics. */
  metrics: ServiceMetrics;
  /** The registry. */
  registry: Registry;
  /** The store. */
  store: ArtifactStore;
  /** Log lines written, parsed. */
  logs: Record<string, unknown>[];
  /** Stops the holder. */
  close(): Promise<void>;
}

/** Options of {@link testApp}. */
export interface TestAppOptions {
  /** Environment variables the app sees (nothing else). */
  env?: Record<string, string>;
  /** The store (default: the filesystem). */
  store?: ArtifactStore;
  /** Registry poll interval (default 60 s: tests reload explicitly unless they set it). */
  pollMs?: number;
  /** Log level (default INFO). */
  level?: "DEBUG" | "INFO" | "WARNING" | "ERROR";
}

/** Builds an app with `createApp` on a configuration and loads the production model. */
export async function testApp(config: Config, options: TestAppOptions = {}): Promise<TestApp> {
  const store = options.store ?? new FsStore("/");
  const registry = new Registry(store, config);
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ level: options.level ?? "INFO", write: (line) => logs.push(JSON.parse(line)) });
  const holder = new ModelHolder(registry, {
    maxBatch: config.server.max_batch,
    store,
    logger,
    pollMs: options.pollMs ?? 60_000,
  });
  const metrics = new ServiceMetrics();
  const env = options.env ?? {};
  const app = createApp({ config, store, holder, metrics, logger, env: (name) => env[name] });
  await holder.start();
  return { app, holder, metrics, registry, store, logs, close: () => holder.close() };
}

/** A `POST` with a JSON body. */
export function postJson(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

/** Every input of a model with a plausible value (numeric: the training mean rounded; categorical: the first category). */
export function fullFeatures(loaded: LoadedModel): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const f of loaded.inputs) {
    out[f.name] = f.type === "number"
      ? Math.round((f.mean ?? 0) * 10) / 10
      : (f.categories ?? []).find((c) => c !== "missing") ?? "missing";
  }
  return out;
}

/** Waits until `check` returns true, polling every 20 ms. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A copy of the fixture's models, metrics, registry and reports in a fresh folder, with its configuration. */
export interface ArtifactCopy {
  /** The folder. */
  dir: string;
  /** A configuration pointing at it. */
  config: Config;
  /** Removes the folder. */
  dispose(): Promise<void>;
}

/** Copies the fixture's artifacts into a fresh folder (`empty`: creates the folders only). */
export async function copyArtifacts(fx: Fixture, options: { empty?: boolean } = {}): Promise<ArtifactCopy> {
  const dir = await Deno.makeTempDir({ prefix: "churn_routes_" });
  const paths: Partial<Config["paths"]> = {};
  for (const name of ["models", "metrics", "registry", "reports"] as const) {
    await Deno.mkdir(`${dir}/${name}`);
    paths[name] = `${dir}/${name}`;
    if (options.empty) continue;
    for await (const e of Deno.readDir(fx.config.paths[name])) {
      if (e.isFile) await Deno.copyFile(`${fx.config.paths[name]}/${e.name}`, `${dir}/${name}/${e.name}`);
    }
  }
  return { dir, config: withConfig(fx.config, { paths }), dispose: () => Deno.remove(dir, { recursive: true }) };
}
