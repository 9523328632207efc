import assert from "node:assert/strict";
import { loadConfig } from "../../config/mod.ts";
import { podTemplates, rendered, ROOT } from "../k8s/rendered.ts";
import { type Instruction, isIgnored, parseDockerfile, parseDockerignore } from "./dockerfile.ts";

const DOCKERFILE = await Deno.readTextFile(new URL("Dockerfile", ROOT));
const INSTRUCTIONS = parseDockerfile(DOCKERFILE);
const IGNORE = parseDockerignore(await Deno.readTextFile(new URL(".dockerignore", ROOT)));

function all(keyword: string): Instruction[] {
  return INSTRUCTIONS.filter((i) => i.keyword === keyword);
}

function last(keyword: string): Instruction {
  const found = all(keyword);
  assert.ok(found.length > 0, `the Dockerfile has no ${keyword}`);
  return found[found.length - 1];
}

function indexWhere(pred: (i: Instruction) => boolean, what: string): number {
  const i = INSTRUCTIONS.findIndex(pred);
  assert.ok(i >= 0, `the Dockerfile has no ${what}`);
  return i;
}

/** The entry-point script the Dockerfile writes with a heredoc, and where it is installed. */
function entrypointScript(): { path: string; body: string } {
  const copy = all("COPY").find((c) => Object.keys(c.heredocs).length > 0);
  assert.ok(copy, "the Dockerfile writes no entry-point script");
  const path = copy.args.split(/\s+/).pop()!;
  return { path, body: Object.values(copy.heredocs)[0] };
}

Deno.test("the Dockerfile builds from the official Deno image pinned to 2.9.6 and nothing says latest", () => {
  const froms = all("FROM");
  assert.equal(froms.length, 1, "a single stage");
  assert.match(froms[0].args, /^denoland\/deno:(debian-)?2\.9\.6(\s|$)/);
  assert.doesNotMatch(DOCKERFILE, /:latest\b/);
  assert.match(DOCKERFILE, /^# syntax=docker\/dockerfile:1\.\d+$/m, "heredocs need a pinned Dockerfile frontend");
});

Deno.test("the Dockerfile caches the dependencies from deno.json and deno.lock before it copies the source", () => {
  const lockCopy = indexWhere(
    (i) => i.keyword === "COPY" && /\bdeno\.lock\b/.test(i.args) && /\bdeno\.json\b/.test(i.args),
    "COPY of deno.json and deno.lock",
  );
  const install = indexWhere(
    (i) => i.keyword === "RUN" && /\bdeno (install|cache)\b[^&]*--frozen/.test(i.args),
    "RUN deno install --frozen",
  );
  const source = indexWhere((i) => i.keyword === "COPY" && /^\.\s+\.$/.test(i.args), "COPY . .");
  assert.ok(lockCopy < install && install < source, "COPY deno.json deno.lock → RUN deno install → COPY . .");
  for (const i of INSTRUCTIONS.slice(0, install)) {
    if (i.keyword === "COPY" || i.keyword === "ADD") {
      assert.match(i.args, /^deno\.json\s+deno\.lock\s+\.\/?$/, `only the manifests before the install: ${i.args}`);
    }
  }
  const cacheMain = indexWhere(
    (i) => i.keyword === "RUN" && /deno cache --frozen main\.ts/.test(i.args),
    "RUN deno cache --frozen main.ts",
  );
  assert.ok(source < cacheMain, "main.ts is cached after the source is copied");
  assert.match(INSTRUCTIONS[cacheMain].args, /deno run --cached-only -A main\.ts --help/, "a load test at build time");
});

Deno.test("the image uses the committed Wasm and never compiles it", () => {
  for (const run of all("RUN")) assert.doesNotMatch(run.args, /build:wasm|wasm\/build\.ts|assemblyscript|\basc\b/);
  for (const path of ["wasm/core.wasm", "wasm/logreg.wasm", "wasm/hgb.wasm"]) {
    assert.ok(Deno.statSync(new URL(path, ROOT)).size > 0, `${path} is committed`);
    assert.ok(!isIgnored(IGNORE, path), `${path} must be in the build context`);
  }
  assert.ok(isIgnored(IGNORE, "wasm/build.ts") && isIgnored(IGNORE, "wasm/assembly/core.ts"));
});

Deno.test("the image runs as a non-root numeric user, the same one the Kubernetes pods run as", async () => {
  const user = last("USER");
  const m = /^(\d+)(?::(\d+))?$/.exec(user.args);
  assert.ok(m, `USER ${user.args} must be numeric so that Kubernetes can check runAsNonRoot`);
  const uid = Number(m[1]);
  assert.ok(uid > 0, "USER must not be root");
  assert.ok(INSTRUCTIONS.indexOf(user) > INSTRUCTIONS.findIndex((i) => i.keyword === "RUN"), "USER after the RUNs");
  for (const name of ["base", "prod"]) {
    for (const t of podTemplates(await rendered(name))) {
      assert.equal(t.template.spec.securityContext.runAsUser, uid, t.owner);
      assert.equal(t.template.spec.securityContext.runAsGroup, Number(m[2] ?? m[1]), t.owner);
    }
  }
});

Deno.test("the HEALTHCHECK asks /live with deno itself, and nothing installs curl or wget", () => {
  const hc = last("HEALTHCHECK");
  const { path, body } = entrypointScript();
  assert.match(hc.args, new RegExp(`CMD \\["${path}", "healthcheck"\\]`));
  const branch = /healthcheck\)([\s\S]*?);;/.exec(body)?.[1] ?? "";
  assert.match(branch, /exec deno eval/);
  assert.match(branch, /http:\/\/127\.0\.0\.1:8000\/live/);
  assert.doesNotMatch(DOCKERFILE, /\b(curl|wget)\b/);
});

Deno.test("the entry point serves by default under tini, exposes the config's port and runs tasks", () => {
  const { path } = entrypointScript();
  assert.deepEqual(JSON.parse(last("ENTRYPOINT").args), ["/tini", "--", path]);
  assert.deepEqual(JSON.parse(last("CMD").args), ["serve"]);
  assert.equal(Number(last("EXPOSE").args), loadConfig({ env: "prod", file: null }).server.port);
  const env = all("ENV").map((e) => e.args).join(" ");
  assert.match(env, /DENO_DIR=\/deno-dir\b/, "a dependency cache outside /tmp and the volumes");
});

/** Runs the Dockerfile's entry-point script with the real deno on PATH, from the repository root. */
async function entrypoint(args: string[], env: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "churn_entrypoint_" });
  try {
    const script = `${dir}/churn-entrypoint`;
    await Deno.writeTextFile(script, entrypointScript().body);
    await Deno.symlink(Deno.execPath(), `${dir}/deno`);
    const out = await new Deno.Command("sh", {
      args: [script, ...args],
      env: { ...env, PATH: `${dir}:${Deno.env.get("PATH")}`, CHURN_APP_DIR: new URL(".", ROOT).pathname },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const d = new TextDecoder();
    return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the entry point maps `task NAME [flags]` to deno run -A main.ts NAME [flags] and other commands to themselves", async () => {
  const help = await entrypoint(["task", "registry", "--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: deno task registry/);
  const list = await entrypoint(["task", "--help"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /Commands:/);
  const none = await entrypoint(["task"]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Usage: task <name>/);
  const unknown = await entrypoint(["task", "no-such-task"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown command "no-such-task"/);
  const other = await entrypoint(["echo", "plain", "command"]);
  assert.equal(other.stdout, "plain command\n");
});

Deno.test("the entry point's default command is the serve task", async () => {
  const r = await entrypoint(["serve", "--help"]);
  assert.equal(r.code, 0, `serve --help failed (is the serve task registered in tasks/mod.ts?): ${r.stderr}`);
  assert.match(r.stdout, /^Usage: deno task serve/);
});

Deno.test("the entry point's healthcheck passes on a 200 from /live and fails on a 503 or a closed port", async () => {
  let status = 200;
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push(new URL(req.url).pathname);
    return new Response("{}", { status });
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/live`;
    assert.equal((await entrypoint(["healthcheck"], { CHURN_HEALTHCHECK_URL: url })).code, 0);
    status = 503;
    const down = await entrypoint(["healthcheck"], { CHURN_HEALTHCHECK_URL: url });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /answered 503/);
    assert.deepEqual(seen, ["/live", "/live"]);
  } finally {
    await server.shutdown();
  }
  const closed = await entrypoint(["healthcheck"], { CHURN_HEALTHCHECK_URL: "http://127.0.0.1:9/live" });
  assert.equal(closed.code, 1);
  assert.match(closed.stderr, /unreachable/);
});

Deno.test(".dockerignore keeps data, artifacts, caches, tests and .git out and every module main.ts loads in", async () => {
  for (
    const path of [
      "data/raw/users.csv",
      "artifacts/models/m.json",
      "bench-data/x.csv",
      ".git/HEAD",
      "node_modules/x/index.js",
      "tests/k8s/schema_test.ts",
      "k8s/base/kustomization.yaml",
      "data/processed/t.arrow.tmp-123",
      ".env",
    ]
  ) assert.ok(isIgnored(IGNORE, path), `${path} must not be in the build context`);
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("main.ts", ROOT).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(info.code, 0, new TextDecoder().decode(info.stderr));
  const graph = JSON.parse(new TextDecoder().decode(info.stdout));
  const root = new URL(".", ROOT).href;
  const local = graph.modules.map((m: { specifier: string }) => m.specifier)
    .filter((s: string) => s.startsWith(root)).map((s: string) => s.slice(root.length));
  assert.ok(local.includes("main.ts") && local.some((p: string) => p.endsWith(".wasm")), "the module graph");
  const needed = [
    ...local,
    "deno.json",
    "deno.lock",
    ...["default", "dev", "stage", "prod"].map((e) => `config/${e}.yaml`),
  ];
  assert.deepEqual(needed.filter((p) => isIgnored(IGNORE, p)), [], "files the image needs are ignored");
});

Deno.test("the .dockerignore matcher follows Docker's rules for folders, wildcards and exceptions", () => {
  const rules = parseDockerignore("# c\ndata\n**/*.log\n!keep.log\n/docs/\nwasm/*.ts\n");
  assert.ok(isIgnored(rules, "data/a/b.csv"));
  assert.ok(!isIgnored(rules, "src/data/b.csv"), "a pattern without ** matches from the root only");
  assert.ok(isIgnored(rules, "a/b/c.log") && isIgnored(rules, "c.log"));
  assert.ok(!isIgnored(rules, "keep.log"));
  assert.ok(isIgnored(rules, "docs/x.md"));
  assert.ok(isIgnored(rules, "wasm/build.ts") && !isIgnored(rules, "wasm/core.wasm"));
});
