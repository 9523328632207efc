import assert from "node:assert/strict";
import { prometheusRulesFile } from "../../k8s/render.ts";
import { TASKS } from "../../tasks/mod.ts";
import { rendered, ROOT } from "../k8s/rendered.ts";

/** Bounded waits: the whole test stays well under a minute. */
const STARTUP_MS = 30_000;
const SCRAPE_MS = 30_000;

function onPath(name: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not in this folder
    }
  }
  return null;
}

const PROMETHEUS = onPath("prometheus");
if (PROMETHEUS === null) {
  console.warn("prometheus is not installed: the real-scrape test is skipped (apt-get install prometheus)");
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A child process whose output is collected for error messages, stopped with SIGTERM then SIGKILL. */
class Proc {
  readonly child: Deno.ChildProcess;
  #output = "";
  #readers: Promise<void>[];
  #exited = false;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(cmd: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
    this.child = new Deno.Command(cmd, { args, ...options, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
    const read = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) this.#output += chunk;
    };
    this.#readers = [read(this.child.stdout), read(this.child.stderr)];
    this.status = this.child.status.then((s) => {
      this.#exited = true;
      return s;
    });
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** The last lines of the combined output. */
  tail(lines = 30): string {
    return this.#output.split("\n").slice(-lines).join("\n");
  }

  async stop(): Promise<void> {
    if (!this.#exited) {
      try {
        this.child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          this.child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, 5000);
      await this.status;
      clearTimeout(timer);
    }
    await Promise.all(this.#readers);
  }
}

/** Polls `fn` until it returns a value other than undefined, or fails after `ms` naming `what`. */
async function waitFor<T>(what: string, ms: number, fn: () => Promise<T | undefined>, check?: () => void): Promise<T> {
  const deadline = Date.now() + ms;
  let lastError = "";
  while (Date.now() < deadline) {
    check?.();
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Timed out after ${ms} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ""}`);
}

async function get(url: string): Promise<{ status: number; text: string; type: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return { status: r.status, text: await r.text(), type: r.headers.get("content-type") ?? "" };
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(promUrl: string, promql: string): Promise<Sample[]> {
  const r = await get(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = JSON.parse(r.text);
  if (body.status !== "success") throw new Error(`Query ${promql} failed: ${r.text}`);
  return body.data.result;
}

Deno.test({
  name: "a real Prometheus scrapes the service's /metrics and the alert rules evaluate on what it exposes",
  ignore: PROMETHEUS === null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    assert.ok(
      TASKS.has("serve"),
      `The serve task is not registered in tasks/mod.ts (registered: ${[...TASKS.keys()].join(", ")})`,
    );
    const dir = await Deno.makeTempDir({ prefix: "churn_scrape_" });
    const apiPort = freePort();
    const promPort = freePort();
    const api = `http://127.0.0.1:${apiPort}`;
    const prom = `http://127.0.0.1:${promPort}`;
    const paths = ["raw", "processed", "features", "predictions", "models", "metrics", "registry", "reports"]
      .map((p) => `  ${p}: ${dir}/${p}`).join("\n");
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `paths:\n${paths}\nserver:\n  host: 127.0.0.1\n  port: ${apiPort}\nschedules:\n  enabled: false\n`,
    );
    // The alert rules exactly as the PrometheusRule in k8s/base carries them.
    await Deno.writeTextFile(`${dir}/rules.yaml`, prometheusRulesFile(await rendered("base")));
    await Deno.writeTextFile(
      `${dir}/prometheus.yml`,
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "  evaluation_interval: 1s",
        "rule_files:",
        `  - ${dir}/rules.yaml`,
        "scrape_configs:",
        "  - job_name: churn-api",
        "    metrics_path: /metrics",
        "    static_configs:",
        `      - targets: ["127.0.0.1:${apiPort}"]`,
        "",
      ].join("\n"),
    );
    const service = new Proc(Deno.execPath(), ["run", "-A", new URL("main.ts", ROOT).pathname, "serve"], {
      cwd: dir,
      env: { CHURN_ENV: "dev", CHURN_MLOPS_CONFIG: `${dir}/config.yaml`, NO_COLOR: "1" },
    });
    let prometheus: Proc | undefined;
    try {
      const alive = () => assert.ok(!service.exited, `the service exited early:\n${service.tail()}`);
      await waitFor(
        "the service's /live",
        STARTUP_MS,
        async () => (await get(`${api}/live`)).status === 200 || undefined,
        alive,
      );

      // No model has been trained in this folder: /ready answers 503 and no churn_model_info is exported.
      for (let i = 0; i < 3; i++) {
        assert.equal((await get(`${api}/live`)).status, 200);
        assert.equal((await get(`${api}/ready`)).status, 503);
      }
      const metrics = await get(`${api}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(metrics.type, /^text\/plain|^application\/openmetrics-text/);
      assert.match(metrics.text, /^# TYPE churn_api_requests_total counter$/m);
      assert.match(metrics.text, /^# TYPE churn_api_request_latency_seconds histogram$/m);
      assert.doesNotMatch(metrics.text, /^churn_model_info\{/m, "churn_model_info while no model is loaded");

      prometheus = new Proc(PROMETHEUS!, [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/tsdb`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        "--log.level=warn",
      ]);
      const p = prometheus;
      const bothAlive = () => {
        alive();
        assert.ok(!p.exited, `prometheus exited early:\n${p.tail()}`);
      };
      // Three scrapes at least, so that rate() over the alert windows has points to work with.
      try {
        await waitFor("three successful scrapes", SCRAPE_MS, async () => {
          const r = await query(prom, 'count_over_time(up{job="churn-api"}[1m]) >= 3 and up{job="churn-api"} == 1');
          return r.length === 1 || undefined;
        }, bothAlive);
      } catch (e) {
        // Say why: Prometheus records the scrape error (an invalid exposition, a timeout…) per target.
        const targets = await get(`${prom}/api/v1/targets`).then((r) => r.text).catch(() => "(unreachable)");
        throw new Error(`${(e as Error).message}; Prometheus targets: ${targets}`);
      }

      const requests = await query(prom, 'churn_api_requests_total{job="churn-api"}');
      assert.ok(requests.length > 0, "no churn_api_requests_total series in Prometheus");
      for (const s of requests) for (const l of ["method", "path", "status"]) assert.ok(l in s.metric, `label ${l}`);
      const ready503 = requests.find((s) => s.metric.path === "/ready" && s.metric.status === "503");
      assert.ok(ready503 && Number(ready503.value[1]) >= 3, "the /ready 503s are counted with path and status");

      // The latency histogram needs a finite bucket above the alert's 1 s threshold, or p95 could never exceed it.
      const buckets = await query(prom, 'churn_api_request_latency_seconds_bucket{job="churn-api"}');
      const bounds = new Set(buckets.map((s) => s.metric.le));
      assert.ok(bounds.has("+Inf"), "no +Inf bucket");
      assert.ok([...bounds].some((le) => le !== "+Inf" && Number(le) > 1), `buckets ${[...bounds].join(", ")}`);

      // The rules load in a real Prometheus and evaluate without errors on these series.
      const rules = await waitFor("the rules to be evaluated", SCRAPE_MS, async () => {
        const body = JSON.parse((await get(`${prom}/api/v1/rules`)).text);
        const all = body.data.groups.flatMap((g: { rules: { name: string; health: string }[] }) => g.rules);
        return all.length > 0 && all.every((r: { health: string }) => r.health !== "unknown") ? all : undefined;
      }, bothAlive);
      assert.deepEqual(
        rules.filter((r: { health: string }) => r.health !== "ok").map((r: { name: string }) => r.name),
        [],
      );
      const rule = (alert: string) => rules.find((r: { name: string }) => r.name === alert).query as string;
      // No model loaded: the no-model alert's expression selects this target; the 503s of /ready do not
      // count as errors.
      const noModel = await query(prom, rule("ChurnApiNoModelLoaded"));
      assert.equal(noModel.length, 1, "ChurnApiNoModelLoaded should select the model-less service");
      assert.deepEqual(await query(prom, rule("ChurnApiHighErrorRate")), []);
    } finally {
      await prometheus?.stop();
      await service.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
