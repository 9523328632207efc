// Child process of the serve tests: runs the `serve` or `start` task with the given flags, as
// `deno task serve` / `deno task start` do, and exits with its code.
import { runTask } from "../../tasks/cli.ts";
import { serveTask, startTask } from "../../tasks/serve.ts";

const [which, ...args] = Deno.args;
Deno.exit(await runTask(which === "start" ? startTask : serveTask, args));
