/**
 * The command line: `deno run main.ts <command> [flags]` dispatches to the tasks.
 *
 * @module
 */

import { runTask, type Task } from "./cli.ts";
import { demoDriftTask, driftTask } from "./drift.ts";
import { featuresTask, featureTablesTask, labelsTask, trainingSetTask } from "./features.ts";
import { generateTask } from "./generate.ts";
import { pipelineTask } from "./pipeline.ts";
import { prepareTask } from "./prepare.ts";
import { promoteTask, registryTask, rollbackTask } from "./registry_tasks.ts";
import { driftRetrainTask, retrainTask } from "./retrain.ts";
import { scoreTask } from "./score.ts";
import { scoreProxyTask } from "./score_proxy.ts";
import { serveTask, startTask } from "./serve.ts";
import { trainCandidateTask, trainTask } from "./train.ts";
import { validateTask } from "./validate.ts";

export type { Task } from "./cli.ts";

/** Every task, by command name, in pipeline order. */
export const TASKS: ReadonlyMap<string, Task> = new Map(
  [
    generateTask,
    validateTask,
    prepareTask,
    featuresTask,
    labelsTask,
    trainingSetTask,
    featureTablesTask,
    trainTask,
    trainCandidateTask,
    promoteTask,
    rollbackTask,
    registryTask,
    scoreTask,
    scoreProxyTask,
    driftTask,
    demoDriftTask,
    retrainTask,
    driftRetrainTask,
    pipelineTask,
    serveTask,
    startTask,
  ].map((t) => [t.name, t]),
);

/** Returns the top-level help text. */
export function mainHelp(): string {
  const width = Math.max(...[...TASKS.keys()].map((k) => k.length)) + 2;
  return [
    "churn-mlops: churn prediction, from raw events to a served model.",
    "",
    "Usage: deno task <command> [flags]   (or: deno run -A main.ts <command> [flags])",
    "",
    "Commands:",
    ...[...TASKS.values()].map((t) => `  ${t.name.padEnd(width)}${t.summary}`),
    "",
    'Run "deno task <command> --help" for the flags of a command.',
  ].join("\n");
}

/** Runs the command named by `argv[0]` and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    console.log(mainHelp());
    return command === undefined ? 2 : 0;
  }
  const task = TASKS.get(command);
  if (task === undefined) {
    console.error(`Unknown command "${command}".\n\n${mainHelp()}`);
    return 2;
  }
  return await runTask(task, rest);
}
