/**
 * `deno task registry list|show <version>|set-alias <alias> <version>`,
 * `deno task promote`, `deno task rollback [version]`.
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import { type Task, UsageError } from "./cli.ts";
import { Registry, RegistryError } from "./registry.ts";
import { openStore } from "./store/mod.ts";

const f = (v: number | null | undefined) => v === null || v === undefined ? "n/a" : v.toFixed(4);

async function withRegistry<T>(config: Config, fn: (r: Registry) => Promise<T>): Promise<T> {
  const store = await openStore(config);
  try {
    return await fn(new Registry(store, config));
  } finally {
    store.close();
  }
}

/** Runs `fn`, turning a {@link RegistryError} into a message and exit code 1 (never a stack trace). */
async function reported(log: (m: string) => void, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RegistryError) {
      log(e.message);
      return 1;
    }
    throw e;
  }
}

/** The `registry` task. */
export const registryTask: Task = {
  name: "registry",
  args: "list | show <version> | set-alias <alias> <version>",
  summary: "List model versions, show one (metrics, aliases, history), or point an alias at a version by hand.",
  flags: {
    json: { type: "boolean", description: "Print JSON instead of a table" },
    note: { type: "string", value: "TEXT", description: "Why (for set-alias), recorded in the history" },
  },
  run({ config, flags, positionals, log }) {
    const [command = "list", ...args] = positionals;
    return reported(log, () =>
      withRegistry(config, async (registry) => {
        if (command === "list") {
          const versions = await registry.versions();
          if (flags.json) console.log(JSON.stringify(versions, null, 2));
          else if (versions.length === 0) console.log("No model versions yet (deno task train).");
          else {
            console.log(
              "version                              trained_at                 pr_auc  roc_auc brier   aliases",
            );
            for (const v of versions) {
              console.log(
                `${v.version.padEnd(36)} ${v.trained_at.padEnd(26)} ${f(v.pr_auc)}  ${f(v.roc_auc)}  ${f(v.brier)}  ${
                  v.aliases.join(", ")
                }`,
              );
            }
          }
          return 0;
        }
        if (command === "show") {
          const version = args[0];
          if (!version) throw new UsageError("registry show needs a version (see: deno task registry list)");
          const model = await registry.model(version);
          const metrics = await registry.metrics(version);
          const { state } = await registry.read();
          console.log(JSON.stringify(
            {
              version,
              model_type: model.model_type,
              trained_at: model.trained_at,
              features: model.preprocessor.features.length,
              aliases: Object.entries(state.aliases).filter(([, a]) => a.version === version).map(([n]) => n),
              metrics: metrics?.metrics ?? null,
              data: metrics?.data ?? null,
              history: state.history.filter((e) => e.to === version || e.from === version),
            },
            null,
            2,
          ));
          return 0;
        }
        if (command === "set-alias") {
          const [alias, version] = args;
          if (!alias || !version) throw new UsageError("registry set-alias needs an alias and a version");
          await registry.setAlias(alias, version, {
            reason: "manual",
            note: typeof flags.note === "string" ? flags.note : "set by hand",
          });
          log(`${alias} → ${version}`);
          return 0;
        }
        throw new UsageError(`Unknown registry command "${command}" (expected list, show or set-alias)`);
      }));
  },
};

/** The `promote` task. */
export const promoteTask: Task = {
  name: "promote",
  summary:
    "Promotion gate: the newest baseline and candidate compete; the winner becomes production if it beats it and passes the guardrails, else the challenger.",
  flags: {},
  run({ config, log }) {
    return reported(log, () =>
      withRegistry(config, async (registry) => {
        const d = await registry.promote();
        for (const r of d.reasons) log(r);
        log(
          d.action === "promote"
            ? `production → ${d.winner!.version}`
            : d.action === "challenger"
            ? `challenger → ${d.winner!.version} (production unchanged${
              d.production ? `: ${d.production.version}` : ""
            })`
            : "no change",
        );
        return 0;
      }));
  },
};

/** The `rollback` task. */
export const rollbackTask: Task = {
  name: "rollback",
  args: "[version]",
  summary: "Move production back to the previous version (or the named one), recorded in the history.",
  flags: {},
  run({ config, positionals, log }) {
    return reported(log, () =>
      withRegistry(config, async (registry) => {
        const r = await registry.rollback(positionals[0]);
        log(`production: ${r.from} → ${r.to}`);
        return 0;
      }));
  },
};
