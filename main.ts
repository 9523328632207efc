/**
 * churn-mlops entry point: `deno run -A main.ts <command> [flags]` runs a task
 * (see `tasks/mod.ts`).
 *
 * @module
 */

import { runCli } from "./tasks/mod.ts";
import { createDeployHandler } from "./tasks/serve.ts";

/**
 * The HTTP entry point for Deno Deploy (and `deno serve main.ts`): the prediction service with its artifacts in
 * Deno KV. Nothing starts until the first request.
 */
export default createDeployHandler();

function onDeploy(): boolean {
  try {
    return Deno.env.get("DENO_DEPLOYMENT_ID") !== undefined;
  } catch {
    return false;
  }
}

/** Returns this process's peak resident set size in bytes (Linux), or null where unknown. */
export function peakRssBytes(): number | null {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = status.match(/^VmHWM:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

if (import.meta.main && !onDeploy()) {
  const code = await runCli(Deno.args);
  // The benchmark asks each step for its peak memory through this variable.
  const statsPath = Deno.env.get("CHURN_BENCH_STATS");
  if (statsPath) Deno.writeTextFileSync(statsPath, JSON.stringify({ peak_rss_bytes: peakRssBytes(), exit_code: code }));
  Deno.exit(code);
}
