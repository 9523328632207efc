/**
 * churn-mlops entry point: `deno run -A main.ts <command> [flags]` runs a task
 * (see `tasks/mod.ts`).
 *
 * @module
 */

import { runCli } from "./tasks/mod.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
