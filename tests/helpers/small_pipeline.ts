/**
 * Test helper: runs the real pipeline (generate → … → training set, optionally
 * train and promote) on a small synthetic data set in a temporary folder.
 *
 * @module
 */

import { type Config, loadConfig } from "../../config/mod.ts";
import { pipelineTask } from "../../tasks/pipeline.ts";

/** A small pipeline run: its folder and configuration. */
export interface SmallPipeline {
  /** The temporary folder holding data and artifacts. */
  dir: string;
  /** The configuration pointing into it. */
  config: Config;
  /** Removes the folder. */
  dispose: () => Promise<void>;
}

/** Options of {@link smallPipeline}. */
export interface SmallPipelineOptions {
  /** Users to generate (default 150). */
  users?: number;
  /** Days to generate (default 150). */
  days?: number;
  /** Extra YAML appended to the config. */
  extraYaml?: string;
}

/** Runs the whole pipeline in a fresh temporary folder and returns it. */
export async function smallPipeline(options: SmallPipelineOptions = {}): Promise<SmallPipeline> {
  const dir = await Deno.makeTempDir({ prefix: "churn_small_" });
  const file = `${dir}/config.yaml`;
  const paths = ["raw", "processed", "features", "predictions", "models", "metrics", "registry", "reports"]
    .map((p) => `  ${p}: ${dir}/${p}`).join("\n");
  await Deno.writeTextFile(
    file,
    `paths:\n${paths}\ngenerate:\n  n_users: ${options.users ?? 150}\n  days: ${options.days ?? 150}\n${
      options.extraYaml ?? ""
    }`,
  );
  const config = loadConfig({ env: "dev", file });
  const code = await pipelineTask.run({ config, flags: {}, positionals: [], log: () => {} });
  if (code !== 0) throw new Error(`The small pipeline failed with exit code ${code} in ${dir}`);
  return { dir, config, dispose: () => Deno.remove(dir, { recursive: true }) };
}
