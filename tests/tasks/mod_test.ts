import assert from "node:assert/strict";
import { mainHelp, runCli, TASKS } from "../../tasks/mod.ts";
import { taskHelp } from "../../tasks/cli.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test("every task's --help lists each of its flags", () => {
  for (const task of TASKS.values()) {
    const help = taskHelp(task);
    assert.ok(help.startsWith(`Usage: deno task ${task.name}`), task.name);
    for (const flag of [...Object.keys(task.flags), "config", "help"]) {
      assert.ok(help.includes(`--${flag}`), `${task.name} --${flag}`);
    }
  }
  for (const name of ["generate", "validate", "prepare", "pipeline"]) assert.ok(mainHelp().includes(name));
});

Deno.test("runCli() answers unknown commands and flags with exit code 2", async () => {
  assert.equal(await runCli(["nonsense"]), 2);
  assert.equal(await runCli(["prepare", "--no-such-flag"]), 2);
});

Deno.test("main.ts prints a task's help and exits 0", async () => {
  const r = await cli("generate", "--help");
  assert.equal(r.code, 0);
  assert.ok(r.stdout.includes("--n-users"));
});

Deno.test("main.ts reports a bad config file by name and key path with exit code 2", async () => {
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(path, "generate:\n  n_users: many\n");
  const r = await cli("generate", "--config", path);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`Invalid config in ${path}: generate\\.n_users`));
  await Deno.remove(path);
});

Deno.test("main.ts rejects a bad flag value with a message and exit code 2", async () => {
  const r = await cli("generate", "--n-users", "lots", "--output-dir", "/nonexistent-never-written");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /n-users/);
});
