import assert from "node:assert/strict";
import { loadConfig } from "../../config/mod.ts";
import { exists } from "../../tasks/io.ts";
import { pipelineTask } from "../../tasks/pipeline.ts";

async function configIn(dir: string) {
  const path = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    path,
    `paths:\n  predictions: ${dir}/predictions\n  models: ${dir}/models\n  metrics: ${dir}/metrics\n  registry: ${dir}/registry\n  raw: ${dir}/raw\n  processed: ${dir}/processed\n  reports: ${dir}/reports\n  features: ${dir}/features\ngenerate:\n  n_users: 150\n  days: 150\n`,
  );
  return loadConfig({ env: "dev", file: path });
}

Deno.test("pipelineTask runs every step from generate to score in order", async () => {
  const dir = await Deno.makeTempDir();
  const config = await configIn(dir);
  const lines: string[] = [];
  const code = await pipelineTask.run({ config, flags: {}, positionals: [], log: (m) => lines.push(m) });
  assert.equal(code, 0);
  for (
    const f of [
      "raw/users.csv",
      "raw/events.csv",
      "reports/data_validation_report.json",
      "processed/user_daily.arrow",
      "features/user_features_daily.arrow",
      "features/labels_daily.arrow",
      "features/training_dataset.arrow",
    ]
  ) {
    assert.ok(await exists(`${dir}/${f}`), f);
  }
  assert.deepEqual(lines.filter((l) => l.startsWith("✓")).map((l) => l.split(" ")[1]), [
    "generate",
    "validate",
    "prepare",
    "features:all",
    "train",
    "train:candidate",
    "promote",
    "score",
  ]);
  // A second run keeps the existing raw data.
  const before = await Deno.readFile(`${dir}/raw/events.csv`);
  lines.length = 0;
  assert.equal(await pipelineTask.run({ config, flags: {}, positionals: [], log: (m) => lines.push(m) }), 0);
  assert.ok(lines.some((l) => l.startsWith("skip generate")));
  assert.deepEqual(await Deno.readFile(`${dir}/raw/events.csv`), before);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("pipelineTask stops at the first failing step and writes nothing downstream", async () => {
  const dir = await Deno.makeTempDir();
  const config = await configIn(dir);
  await Deno.mkdir(`${dir}/raw`);
  await Deno.writeTextFile(
    `${dir}/raw/users.csv`,
    "user_id,signup_date,plan,is_paid,country,marketing_source\n1,2026-01-01,gold,0,US,ads\n",
  );
  await Deno.writeTextFile(
    `${dir}/raw/events.csv`,
    "event_id,user_id,event_time,event_type,course_id,watch_minutes,quiz_score,amount\n1,1,2026-01-02T00:00:00,login,,,,\n",
  );
  const lines: string[] = [];
  const code = await pipelineTask.run({ config, flags: {}, positionals: [], log: (m) => lines.push(m) });
  assert.equal(code, 1);
  assert.ok(lines.some((l) => l.includes("validate failed")));
  assert.equal(await exists(`${dir}/processed`), false);
  const report = JSON.parse(await Deno.readTextFile(`${dir}/reports/data_validation_report.json`));
  assert.equal(report.ok, false);
  await Deno.remove(dir, { recursive: true });
});
