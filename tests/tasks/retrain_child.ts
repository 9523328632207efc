/**
 * Child process of the retrain kill test in `retrain_test.ts`: runs a retrain (or a
 * drift-triggered retrain) against the config file given, printing each progress line to stderr
 * as it happens, so that the parent can kill it with SIGKILL at any point.
 *
 * Usage: `deno run -A tests/tasks/retrain_child.ts <config.yaml> [retrain|drift-retrain]`.
 * Prints the result as JSON on stdout and exits with its exit code.
 *
 * @module
 */

import { loadConfig } from "../../config/mod.ts";
import { runDriftRetrain, runRetrain } from "../../tasks/retrain.ts";

const [file, mode = "retrain"] = Deno.args;
if (file === undefined) throw new TypeError("Missing the config argument: usage retrain_child.ts <config.yaml> [mode]");
if (mode !== "retrain" && mode !== "drift-retrain") {
  throw new RangeError(`Invalid mode "${mode}": expected retrain or drift-retrain`);
}
const config = loadConfig({ env: "dev", file });
const log = (m: string) => console.error(m);
const result = mode === "retrain" ? await runRetrain(config, { log }) : await runDriftRetrain(config, { log });
console.log(JSON.stringify(result));
Deno.exit(result.exit_code);
