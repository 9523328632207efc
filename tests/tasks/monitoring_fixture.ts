/**
 * Test helper for the monitoring tests: runs the real pipeline (generate → … → promote → score)
 * on a small synthetic data set in a temporary folder, and attaches a reference profile to the
 * production model the way training will (`buildProfile(pre, training, { rows: split.train })`).
 *
 * @module
 */

import { type Config, loadConfig } from "../../config/mod.ts";
import { pipelineTask } from "../../tasks/pipeline.ts";
import { Registry } from "../../tasks/registry.ts";
import { openStore, putJson } from "../../tasks/store/mod.ts";

/** A small pipeline run: its folder and configuration. */
export interface MonitoringSetup {
  /** The temporary folder holding data and artifacts. */
  dir: string;
  /** The config file. */
  configFile: string;
  /** The configuration pointing into the folder. */
  config: Config;
  /** Removes the folder. */
  dispose: () => Promise<void>;
}

/** Options of {@link monitoringSetup}. */
export interface MonitoringSetupOptions {
  /** Users to generate (default 150). */
  users?: number;
  /** Days to generate (default 150). */
  days?: number;
  /** Extra YAML appended to the config. */
  extraYaml?: string;
  /** Attach a reference profile to the production model (default true). */
  profile?: boolean;
  /** Name of the config file in the folder (default `config.yaml`). */
  name?: string;
}

/** Writes the config of a folder (every path inside it) and loads it. */
export async function configIn(dir: string, options: MonitoringSetupOptions = {}): Promise<[string, Config]> {
  const file = `${dir}/${options.name ?? "config.yaml"}`;
  const paths = ["raw", "processed", "features", "predictions", "models", "metrics", "registry", "reports"]
    .map((p) => `  ${p}: ${dir}/${p}`).join("\n");
  await Deno.writeTextFile(
    file,
    `paths:\n${paths}\ngenerate:\n  n_users: ${options.users ?? 150}\n  days: ${options.days ?? 150}\n${
      options.extraYaml ?? ""
    }`,
  );
  return [file, loadConfig({ env: "dev", file })];
}

/**
 * Removes the reference profile from the production model's artifact (a model
 * trained before profiles were stored); returns the version.
 */
export async function detachProfile(config: Config): Promise<string> {
  const store = await openStore(config);
  try {
    const registry = new Registry(store, config);
    const { version, model } = await registry.resolve("production");
    const { reference_profile: _, ...rest } = model;
    await putJson(store, registry.modelKey(version), rest);
    return version;
  } finally {
    store.close();
  }
}

/** Runs the whole pipeline in a fresh temporary folder and returns it. */
export async function monitoringSetup(options: MonitoringSetupOptions = {}): Promise<MonitoringSetup> {
  const dir = await Deno.makeTempDir({ prefix: "churn_monitoring_" });
  const [configFile, config] = await configIn(dir, options);
  const code = await pipelineTask.run({ config, flags: {}, positionals: [], log: () => {} });
  if (code !== 0) throw new Error(`The small pipeline failed with exit code ${code} in ${dir}`);
  if (options.profile === false) await detachProfile(config);
  return { dir, configFile, config, dispose: () => Deno.remove(dir, { recursive: true }) };
}
