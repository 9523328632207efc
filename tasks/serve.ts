/**
 * `deno task serve`: the prediction service (SPEC §10) on `server.host:port`;
 * `deno task start`: the same, after running the whole pipeline when there is
 * no production model yet. Also {@link createDeployHandler}, the entry point
 * for Deno Deploy (artifacts in Deno KV, no writable disk).
 *
 * The service starts without a model (`/ready` answers 503 with the reason)
 * and picks one up as soon as the production alias points at one (polling
 * the registry every second; `kv.watch` on Deno KV). SIGINT or SIGTERM stops
 * accepting connections, lets requests in flight finish, and exits 0.
 *
 * @module
 */

import { type Config, loadConfig } from "../config/mod.ts";
import { type AppEnv, createApp, type Logger, loggerFor, ModelHolder, ServiceMetrics } from "../routes/mod.ts";
import type { Hono } from "hono";
import { ProblemError, problemResponse } from "../routes/problem.ts";
import { numberFlag, stringFlag, type Task, type TaskContext, UsageError } from "./cli.ts";
import { pipelineTask } from "./pipeline.ts";
import { registerSchedules } from "./schedules.ts";
import { Registry } from "./registry.ts";
import { type ArtifactStore, openStore } from "./store/mod.ts";

/** The parts of a running service. */
export interface Service {
  /** The configuration. */
  config: Config;
  /** The artifact store. */
  store: ArtifactStore;
  /** The registry over the store. */
  registry: Registry;
  /** The served model. */
  holder: ModelHolder;
  /** The metrics. */
  metrics: ServiceMetrics;
  /** The logger. */
  logger: Logger;
  /** The Hono app. */
  app: Hono<AppEnv>;
  /** Stops following the registry and releases the store (when the service opened it). */
  close(): Promise<void>;
}

/** Options of {@link createService}. */
export interface ServiceOptions {
  /** An open store (default: opened from the config and closed by `close`). */
  store?: ArtifactStore;
  /** The logger (default: from `config.logging`). */
  logger?: Logger;
  /** Reads an environment variable (default `Deno.env.get`). */
  env?: (name: string) => string | undefined;
  /** Registry poll interval in milliseconds (default 1000). */
  pollMs?: number;
}

/** Opens the store, loads the production model (if any), and builds the app. */
export async function createService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  const store = options.store ?? await openStore(config);
  const logger = options.logger ?? loggerFor(config);
  const registry = new Registry(store, config);
  const holder = new ModelHolder(registry, {
    maxBatch: config.server.max_batch,
    store,
    logger,
    pollMs: options.pollMs,
  });
  const metrics = new ServiceMetrics();
  const app = createApp({ config, store, holder, metrics, logger, env: options.env });
  try {
    await holder.start();
  } catch (e) {
    await holder.close();
    if (options.store === undefined) store.close();
    throw e;
  }
  return {
    config,
    store,
    registry,
    holder,
    metrics,
    logger,
    app,
    async close() {
      await holder.close();
      if (options.store === undefined) store.close();
      logger.flush();
    },
  };
}

/** A service listening on a port. */
export interface RunningServer {
  /** The URL to reach it (`localhost` when listening on every interface). */
  url: string;
  /** The address it listens on. */
  hostname: string;
  /** The port it listens on. */
  port: number;
  /** The service. */
  service: Service;
  /** Resolves once the server has stopped and the service is closed. */
  finished: Promise<void>;
  /** Requests being answered now. */
  readonly inflight: number;
  /** Stops accepting connections, waits for requests in flight, closes the service. */
  shutdown(): Promise<void>;
}

/** Options of {@link startServer}. */
export interface StartServerOptions extends ServiceOptions {
  /** Address to listen on (default `config.server.host`). */
  hostname?: string;
  /** Port (default `config.server.port`; 0 picks a free one). */
  port?: number;
  /** Longest wait for requests in flight when shutting down, in milliseconds (default 10,000). */
  drainMs?: number;
}

/**
 * Starts the service on a port.
 *
 * Shutdown drains first, then stops the server: new requests get a 503
 * problem with `Connection: close` (and `/ready` fails, so a load balancer
 * stops routing here), requests in flight run to completion (up to
 * `drainMs`), then `Deno.HttpServer.shutdown()` closes the listener. Calling
 * `shutdown()` with requests still reading their bodies would cut those
 * bodies off on Deno 2.9 (denoland/deno#36809), hence the drain before it.
 */
export async function startServer(config: Config, options: StartServerOptions = {}): Promise<RunningServer> {
  const service = await createService(config, options);
  const hostname = options.hostname ?? config.server.host;
  let inflight = 0;
  let draining = false;
  let drained: (() => void) | null = null;
  const handler = async (request: Request): Promise<Response> => {
    if (draining) {
      const error = new ProblemError("shutting_down", "The service is shutting down; retry on another instance", {
        headers: { Connection: "close", "Retry-After": "1" },
      });
      return problemResponse(error, { instance: new URL(request.url).pathname });
    }
    inflight++;
    try {
      return await service.app.fetch(request);
    } finally {
      if (--inflight === 0) drained?.();
    }
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port: options.port ?? config.server.port, onListen: () => {} }, handler);
  } catch (e) {
    await service.close();
    throw e;
  }
  const port = server.addr.port;
  const shown = hostname === "0.0.0.0" || hostname === "::"
    ? "localhost"
    : hostname.includes(":")
    ? `[${hostname}]`
    : hostname;
  let closing: Promise<void> | null = null;
  const finished = server.finished.then(() => service.close());
  const drain = async () => {
    draining = true;
    if (inflight > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => drained = resolve),
        new Promise<void>((resolve) => timer = setTimeout(resolve, options.drainMs ?? 10_000)),
      ]);
      clearTimeout(timer);
    }
    await server.shutdown();
    await finished;
  };
  return {
    url: `http://${shown}:${port}`,
    hostname,
    port,
    service,
    finished,
    get inflight() {
      return inflight;
    },
    shutdown() {
      closing ??= drain();
      return closing;
    },
  };
}

/** Stops the server on SIGINT or SIGTERM; returns a function removing the listeners. */
function onStopSignal(stop: () => void): () => void {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);
  return () => {
    for (const s of signals) Deno.removeSignalListener(s, stop);
  };
}

function portFlag(ctx: TaskContext): number {
  const port = numberFlag(ctx.flags, "port", ctx.config.server.port, true);
  if (port < 0 || port > 65535) throw new UsageError(`Invalid value for --port: ${port} (expected 0 to 65535)`);
  return port;
}

async function serveUntilStopped(ctx: TaskContext, server: RunningServer): Promise<number> {
  let stopping = false;
  // The schedules (config `schedules.enabled`): Deno.cron jobs sharing the service's store, stopped on shutdown.
  const crons = new AbortController();
  const registered = registerSchedules(ctx.config, { store: server.service.store, signal: crons.signal });
  if (registered.length > 0) {
    ctx.log(`schedules: ${registered.map((r) => `${r.job} "${r.schedule}"`).join(", ")} (UTC)`);
  }
  const remove = onStopSignal(() => {
    if (stopping) return;
    stopping = true;
    crons.abort();
    ctx.log("stopping: finishing requests in flight");
    server.shutdown();
  });
  try {
    await server.finished;
  } finally {
    remove();
  }
  ctx.log("stopped");
  return 0;
}

const SERVE_FLAGS: Task["flags"] = {
  host: { type: "string", value: "ADDR", description: "Address to listen on", default: "config server.host" },
  port: { type: "string", value: "N", description: "Port (0: any free port)", default: "config server.port" },
};

/** The `serve` task. */
export const serveTask: Task = {
  name: "serve",
  summary: "Serve predictions over HTTP (Hono): /predict, /predict/batch, /ready, /model, /metrics, /docs.",
  flags: SERVE_FLAGS,
  async run(ctx) {
    const server = await startServer(ctx.config, {
      hostname: stringFlag(ctx.flags, "host", ctx.config.server.host),
      port: portFlag(ctx),
    });
    const model = server.service.holder.current;
    console.log(`Serving on ${server.url} (docs: ${server.url}/docs)`);
    ctx.log(model ? `model ${model.version}` : `no model yet: ${server.service.holder.reason}`);
    return await serveUntilStopped(ctx, server);
  },
};

/** Returns an example `curl` command for `/predict` with the model's real feature names. */
export function exampleCurl(url: string, model: ModelHolder["current"]): string {
  const features: Record<string, number | string> = {};
  if (model) {
    const preferred = ["active_days_30d", "days_since_last_activity", "logins_7d", "watch_minutes_30d"];
    const numeric = model.inputs.filter((f) => f.type === "number");
    const chosen = numeric.filter((f) => preferred.includes(f.name));
    for (const f of chosen.length ? chosen : numeric.slice(0, 3)) features[f.name] = Math.round(f.mean ?? 0);
    const cat = model.inputs.find((f) => f.type === "category");
    if (cat?.categories?.length) features[cat.name] = cat.categories.find((c) => c !== "missing") ?? cat.categories[0];
  }
  const body = JSON.stringify({ user_id: "42", features });
  return `curl -s ${url}/predict -H 'Content-Type: application/json' -d '${body}'`;
}

/** The `start` task. */
export const startTask: Task = {
  name: "start",
  summary: "Run the whole pipeline if there is no production model yet, then serve predictions.",
  flags: SERVE_FLAGS,
  async run(ctx) {
    const { config } = ctx;
    const store = await openStore(config);
    let hasProduction: boolean;
    try {
      hasProduction = (await new Registry(store, config).read()).state.aliases.production !== undefined;
    } finally {
      store.close();
    }
    if (!hasProduction) {
      ctx.log("no production model yet: running the pipeline first");
      const code = await pipelineTask.run({ ...ctx, flags: {} });
      if (code !== 0) return code;
    }
    const server = await startServer(config, {
      hostname: stringFlag(ctx.flags, "host", config.server.host),
      port: portFlag(ctx),
    });
    const model = server.service.holder.current;
    const where = config.store.backend === "kv"
      ? `Deno KV (${config.store.kv_path ?? "default database"})`
      : `models in ${config.paths.models}, registry in ${config.paths.registry}, metrics in ${config.paths.metrics}`;
    console.log(
      [
        `Serving ${model ? model.version : "(no model yet: " + server.service.holder.reason + ")"} on ${server.url}`,
        `  docs:      ${server.url}/docs`,
        `  try:       ${exampleCurl(server.url, model)}`,
        `  artifacts: ${where}`,
        "  stop:      Ctrl-C",
      ].join("\n"),
    );
    return await serveUntilStopped(ctx, server);
  },
};

/** The Deno Deploy entry point: a `fetch` handler over the service with its artifacts in Deno KV. */
export interface DeployHandler {
  /** Answers a request (starting the service on the first call). */
  fetch(request: Request): Promise<Response>;
  /** Starts the service if needed and returns it. */
  ready(): Promise<Service>;
  /** Stops the service. */
  close(): Promise<void>;
}

/** Options of {@link createDeployHandler}. */
export interface DeployHandlerOptions {
  /** The configuration (default: `loadConfig()`); its store backend is forced to `kv`. */
  config?: Config;
  /** Reads an environment variable (default `Deno.env.get`). */
  env?: (name: string) => string | undefined;
  /** The logger (default: from `config.logging`). */
  logger?: Logger;
}

/**
 * Creates the Deno Deploy handler: nothing happens until the first request,
 * which loads the configuration, opens Deno KV (`store.kv_path`, null for the
 * deployment's database) and the production model. `main.ts` exports it as
 * its default export, so `deno serve main.ts` and Deno Deploy call its `fetch`.
 */
export function createDeployHandler(options: DeployHandlerOptions = {}): DeployHandler {
  let service: Promise<Service> | null = null;
  // Deno Deploy runs only the crons registered while the module loads: register them now, on Deploy only
  // (this module is also imported by every CLI run, which must not schedule anything).
  const env = options.env ?? ((name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  });
  if (env("DENO_DEPLOYMENT_ID") !== undefined) {
    const base = options.config ?? loadConfig();
    registerSchedules({ ...base, store: { ...base.store, backend: "kv" } });
  }
  const ready = (): Promise<Service> => {
    service ??= (async () => {
      const base = options.config ?? loadConfig();
      const config: Config = { ...base, store: { ...base.store, backend: "kv" } };
      return await createService(config, { env: options.env, logger: options.logger });
    })().catch((e) => {
      service = null; // try again on the next request
      throw e;
    });
    return service;
  };
  return {
    async fetch(request) {
      let s: Service;
      try {
        s = await ready();
      } catch (e) {
        const error = new ProblemError("model_unavailable", `The service cannot start: ${(e as Error).message ?? e}`, {
          headers: { "Retry-After": "5" },
        });
        return problemResponse(error, { instance: new URL(request.url).pathname });
      }
      return await s.app.fetch(request);
    },
    ready,
    async close() {
      if (service) await (await service.catch(() => null))?.close();
      service = null;
    },
  };
}
