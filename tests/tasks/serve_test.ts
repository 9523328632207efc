import assert from "node:assert/strict";
import { loadConfig } from "../../config/mod.ts";
import { createLogger } from "../../routes/logger.ts";
import { exampleCurl, startServer } from "../../tasks/serve.ts";
import { fixture, waitFor } from "../routes/helpers.ts";

const CHILD = new URL("../routes/serve_child.ts", import.meta.url).pathname;
const DEPLOY_CHILD = new URL("../routes/deploy_child.ts", import.meta.url).pathname;
const quiet = () => createLogger({ write: () => {} });

Deno.test("startServer answers over real HTTP on a loopback port", async () => {
  const fx = await fixture();
  const server = await startServer(fx.config, {
    hostname: "127.0.0.1",
    port: 0,
    logger: quiet(),
    env: () => undefined,
  });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const live = await fetch(`${server.url}/live`);
    assert.deepEqual(await live.json(), { status: "live" });
    const res = await fetch(`${server.url}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_id: 1, features: {} }),
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).model_version, fx.production);
    assert.ok(res.headers.get("x-request-id"));
  } finally {
    await server.shutdown();
  }
});

Deno.test("Shutting down refuses new requests, lets a request in flight finish, then closes the port", async () => {
  const fx = await fixture();
  const server = await startServer(fx.config, {
    hostname: "127.0.0.1",
    port: 0,
    logger: quiet(),
    env: () => undefined,
  });
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(new TextEncoder().encode('{"user_id": 1, '));
      await gate;
      controller.enqueue(new TextEncoder().encode('"features": {}}'));
      controller.close();
    },
  });
  const inflight = fetch(`${server.url}/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  await waitFor(() => server.inflight === 1);
  const stopping = server.shutdown();
  const refused = await fetch(`${server.url}/ready`);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("content-type"), "application/problem+json");
  assert.equal((await refused.json()).type, "urn:churn-mlops:problem:shutting-down");
  release();
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.equal((await res.json()).model_version, fx.production);
  await stopping;
  await server.finished;
  await assert.rejects(() => fetch(`${server.url}/live`));
});

async function readUntil(reader: ReadableStreamDefaultReader<string>, pattern: RegExp): Promise<string> {
  let text = "";
  const deadline = Date.now() + 60_000;
  while (!pattern.test(text)) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${pattern}; got:\n${text}`);
    const { done, value } = await reader.read();
    if (done) throw new Error(`Output ended before ${pattern}; got:\n${text}`);
    text += value;
  }
  return text;
}

Deno.test("deno task serve prints its URL, serves, and exits 0 on SIGTERM", async () => {
  const fx = await fixture();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, "serve", "--host", "127.0.0.1", "--port", "0"],
    env: { CHURN_MLOPS_CONFIG: `${fx.pipeline.dir}/config.yaml`, CHURN_ENV: "dev" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const errText = new Response(child.stderr).text();
  try {
    const text = await readUntil(stdout, /Serving on (http:\/\/127\.0\.0\.1:\d+)/);
    const url = text.match(/Serving on (http:\/\/127\.0\.0\.1:\d+)/)![1];
    const ready = await fetch(`${url}/ready`);
    assert.equal((await ready.json()).model.version, fx.production);
    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0);
    const log = await errText;
    assert.match(log, /stopping: finishing requests in flight/);
    assert.match(log, /"msg":"request","method":"GET","route":"\/ready","status":200/);
  } finally {
    stdout.releaseLock();
    await child.stdout.cancel().catch(() => {});
    try {
      child.kill();
    } catch {
      // already exited
    }
  }
});

Deno.test("deno task start runs the pipeline when there is no production model, then serves", async () => {
  const dir = await Deno.makeTempDir({ prefix: "churn_start_" });
  const paths = ["raw", "processed", "features", "predictions", "models", "metrics", "registry", "reports"]
    .map((p) => `  ${p}: ${dir}/${p}`).join("\n");
  await Deno.writeTextFile(`${dir}/config.yaml`, `paths:\n${paths}\ngenerate:\n  n_users: 150\n  days: 150\n`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, "start", "--host", "127.0.0.1", "--port", "0"],
    env: { CHURN_MLOPS_CONFIG: `${dir}/config.yaml`, CHURN_ENV: "dev" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const errText = new Response(child.stderr).text();
  try {
    const text = await readUntil(stdout, /stop: /);
    const url = text.match(/on (http:\/\/127\.0\.0\.1:\d+)/)![1];
    const curl = text.match(/try: +curl -s (\S+) -H 'Content-Type: application\/json' -d '(.*)'$/m)!;
    assert.equal(curl[1], `${url}/predict`);
    const example = JSON.parse(curl[2]);
    assert.ok(Object.keys(example.features).length >= 3);
    assert.match(text, new RegExp(`artifacts: models in ${dir}/models`));
    const res = await fetch(curl[1], {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: curl[2],
    });
    assert.equal(res.status, 200);
    const p = await res.json();
    const inputs = (await (await fetch(`${url}/model`)).json()).inputs.length;
    assert.equal(p.defaults_used.length, inputs - Object.keys(example.features).length);
    child.kill("SIGINT");
    assert.equal((await child.status).code, 0);
    const log = await errText;
    assert.match(log, /no production model yet: running the pipeline first/);
    assert.match(log, /✓ promote/);
  } finally {
    stdout.releaseLock();
    await child.stdout.cancel().catch(() => {});
    try {
      child.kill();
    } catch {
      // already exited
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("The Deno Deploy handler serves from Deno KV in a process that cannot write files", async () => {
  const fx = await fixture();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "--no-prompt", DEPLOY_CHILD, `${fx.pipeline.dir}/config.yaml`],
    env: { CHURN_ENV: "dev" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.notEqual(r.write, "granted");
  assert.equal(r.backend, "kv");
  assert.deepEqual(r.live, { status: 200, body: { status: "live" } });
  assert.equal(r.before.status, 503);
  assert.match(r.before.body.detail, /No production model/);
  assert.equal(r.after.status, 200);
  assert.equal(r.after.body.model.version, fx.production);
  assert.equal(r.predict.status, 200);
  assert.equal(r.predict.body.model_version, fx.production);
});

Deno.test("exampleCurl uses the model's real feature names", async () => {
  const fx = await fixture();
  const server = await startServer(loadConfig({ env: "dev", file: `${fx.pipeline.dir}/config.yaml` }), {
    hostname: "127.0.0.1",
    port: 0,
    logger: quiet(),
    env: () => undefined,
  });
  try {
    const model = server.service.holder.current!;
    const cmd = exampleCurl("http://localhost:8000", model);
    const body = JSON.parse(cmd.match(/-d '(.*)'$/)![1]);
    for (const name of Object.keys(body.features)) assert.ok(model.inputs.some((f) => f.name === name), name);
    assert.ok("active_days_30d" in body.features && "days_since_last_activity" in body.features);
  } finally {
    await server.shutdown();
  }
});
