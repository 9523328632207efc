/**
 * `deno task pipeline`: every step that exists, in order, stopping at the first
 * failure.
 *
 * @module
 */

import type { FlagValues, Task } from "./cli.ts";
import { featureTablesTask } from "./features.ts";
import { generateTask } from "./generate.ts";
import { exists, joinPath } from "./io.ts";
import { prepareTask } from "./prepare.ts";
import { promoteTask } from "./registry_tasks.ts";
import { scoreTask } from "./score.ts";
import { trainCandidateTask, trainTask } from "./train.ts";
import { validateTask } from "./validate.ts";

/** One pipeline step: a task and the flags the pipeline passes it. */
export interface PipelineStep {
  /** The task. */
  task: Task;
  /** Flags for this step. */
  flags: FlagValues;
}

/** The steps of the pipeline, in order. */
export function pipelineSteps(flags: FlagValues): PipelineStep[] {
  return [
    { task: generateTask, flags: {} },
    { task: validateTask, flags: {} },
    { task: prepareTask, flags: { csv: flags.csv } },
    // features, labels and training-set in one pass over the grid (same files as the three tasks).
    { task: featureTablesTask, flags: { csv: flags.csv } },
    { task: trainTask, flags: {} },
    { task: trainCandidateTask, flags: {} },
    { task: promoteTask, flags: {} },
    { task: scoreTask, flags: {} },
  ];
}

/** The `pipeline` task. */
export const pipelineTask: Task = {
  name: "pipeline",
  summary:
    "Run every step in order (generate → validate → prepare → features:all (features, labels, training-set) → train → train:candidate → promote → score), stopping at the first failure.",
  flags: {
    regenerate: {
      type: "boolean",
      description: "Generate synthetic raw data even when users.csv and events.csv already exist",
    },
    csv: { type: "boolean", description: "Also write every table as CSV" },
  },
  async run(ctx) {
    const raw = ctx.config.paths.raw;
    const haveRaw = await exists(joinPath(raw, "users.csv")) && await exists(joinPath(raw, "events.csv"));
    const t0 = performance.now();
    for (const step of pipelineSteps(ctx.flags)) {
      const name = step.task.name;
      if (name === "generate" && haveRaw && !ctx.flags.regenerate) {
        ctx.log(`skip generate: ${raw}/users.csv and events.csv exist (use --regenerate to replace them)`);
        continue;
      }
      ctx.log(`→ ${name}`);
      const t = performance.now();
      const code = await step.task.run({ ...ctx, flags: step.flags, log: (m) => console.error(`[${name}] ${m}`) });
      if (code !== 0) {
        ctx.log(`✗ ${name} failed with exit code ${code}; later steps not run`);
        return code;
      }
      ctx.log(`✓ ${name} (${((performance.now() - t) / 1000).toFixed(2)} s)`);
    }
    ctx.log(`pipeline done in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    return 0;
  },
};
