/**
 * `deno task retrain`: validate → prepare → features:all (features, labels, training-set) → train →
 * train:candidate → promote, stopping at the first failure (the promotion gate decides whether the
 * new models replace production). `deno task drift:retrain`: the drift check, then a retrain only
 * when drift is FAIL.
 *
 * Killing either at any moment leaves nothing half-written that a later step trusts: every table
 * and model file is written to a temporary name and renamed into place, a model's metrics document
 * (what promotion reads) is written only after its model, and the registry moves by one
 * compare-and-swap of its document. A killed retrain leaves the previous production model serving.
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import type { Task } from "./cli.ts";
import { asOfDateFlag, driftExitCode, type DriftReport, runDrift, type RunDriftOptions } from "./drift.ts";
import { featureTablesTask } from "./features.ts";
import { prepareTask } from "./prepare.ts";
import { Registry } from "./registry.ts";
import { promoteTask } from "./registry_tasks.ts";
import { openStore } from "./store/mod.ts";
import { trainCandidateTask, trainTask } from "./train.ts";
import { validateTask } from "./validate.ts";

/** The tasks of a retrain, in order. */
export const RETRAIN_STEPS: readonly Task[] = [
  validateTask,
  prepareTask,
  featureTablesTask,
  trainTask,
  trainCandidateTask,
  promoteTask,
];

/** One step of a retrain as it ran. */
export interface RetrainStep {
  /** The task name. */
  name: string;
  /** Its exit code (1 when it threw). */
  exit_code: number;
  /** Wall seconds. */
  seconds: number;
  /** The error message when it threw. */
  error?: string;
}

/** What a retrain did. */
export interface RetrainResult {
  /** Whether every step succeeded. */
  ok: boolean;
  /** 0 on success, else the failing step's exit code. */
  exit_code: number;
  /** The steps run, in order (the failing one last). */
  steps: RetrainStep[];
  /** The step that failed, or null. */
  failed_step: string | null;
  /** Production before the retrain, or null. */
  production_before: string | null;
  /** Production after it, or null. */
  production_after: string | null;
  /** Whether production changed. */
  promoted: boolean;
}

/** Options of {@link runRetrain}. */
export interface RunRetrainOptions {
  /** Progress lines (default none). */
  log?: (message: string) => void;
}

async function productionVersion(config: Config): Promise<string | null> {
  const store = await openStore(config);
  try {
    const { state } = await new Registry(store, config).read();
    return state.aliases.production?.version ?? null;
  } finally {
    store.close();
  }
}

/**
 * Runs the retraining steps on the configured raw data, stopping at the first failure, and says
 * whether production moved. Never throws for a failing step (it is reported in the result).
 */
export async function runRetrain(config: Config, options: RunRetrainOptions = {}): Promise<RetrainResult> {
  const log = options.log ?? (() => {});
  const before = await productionVersion(config);
  const steps: RetrainStep[] = [];
  let failed: RetrainStep | null = null;
  for (const task of RETRAIN_STEPS) {
    const t0 = performance.now();
    const step: RetrainStep = { name: task.name, exit_code: 0, seconds: 0 };
    try {
      step.exit_code = await task.run({
        config,
        flags: {},
        positionals: [],
        log: (m) => log(`[${task.name}] ${m}`),
      });
    } catch (e) {
      step.exit_code = 1;
      step.error = (e as Error).message ?? String(e);
      log(`[${task.name}] failed: ${step.error}`);
    }
    step.seconds = (performance.now() - t0) / 1000;
    steps.push(step);
    if (step.exit_code !== 0) {
      failed = step;
      break;
    }
  }
  const after = await productionVersion(config);
  return {
    ok: failed === null,
    exit_code: failed?.exit_code ?? 0,
    steps,
    failed_step: failed?.name ?? null,
    production_before: before,
    production_after: after,
    promoted: after !== before,
  };
}

function describeRetrain(r: RetrainResult): string {
  const total = r.steps.reduce((s, x) => s + x.seconds, 0).toFixed(1);
  if (!r.ok) {
    return `retrain failed at ${r.failed_step} (exit ${r.exit_code}) after ${total} s; production unchanged: ${
      r.production_after ?? "none"
    }`;
  }
  return r.promoted
    ? `retrained in ${total} s; production ${r.production_before ?? "none"} → ${r.production_after}`
    : `retrained in ${total} s; the promotion gate kept production ${r.production_after ?? "none"}`;
}

/** The `retrain` task. */
export const retrainTask: Task = {
  name: "retrain",
  summary:
    "Retrain on the current raw data: validate → prepare → features:all (features, labels, training-set) → train → train:candidate → promote.",
  flags: {},
  async run({ config, log }) {
    const r = await runRetrain(config, { log: (m) => console.error(m) });
    log(describeRetrain(r));
    return r.exit_code;
  },
};

/** What a drift-triggered retrain did. */
export interface DriftRetrainResult {
  /** The drift report, or null when the check failed. */
  drift: DriftReport | null;
  /** Why the drift check failed, or null. */
  drift_error: string | null;
  /** The retrain, or null when none ran. */
  retrain: RetrainResult | null;
  /** 0 when no retrain was needed or it succeeded; 1 when the check or the retrain failed. */
  exit_code: number;
}

/** Options of {@link runDriftRetrain}. */
export interface RunDriftRetrainOptions extends Pick<RunDriftOptions, "asOfDate" | "inputDir" | "store"> {
  /** Progress lines (default none). */
  log?: (message: string) => void;
}

/**
 * Checks drift and retrains when it is FAIL. Never throws: a failed check or retrain is reported
 * with exit code 1.
 */
export async function runDriftRetrain(
  config: Config,
  options: RunDriftRetrainOptions = {},
): Promise<DriftRetrainResult> {
  const log = options.log ?? (() => {});
  let drift: DriftReport;
  try {
    drift = (await runDrift(config, { asOfDate: options.asOfDate, inputDir: options.inputDir, store: options.store }))
      .report;
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    log(`drift check failed: ${message}`);
    return { drift: null, drift_error: message, retrain: null, exit_code: 1 };
  }
  log(`drift ${drift.status} (max PSI ${drift.overall_max_psi.toFixed(4)} on ${drift.worst_feature})`);
  if (driftExitCode(drift) === 0) {
    log("no retrain needed");
    return { drift, drift_error: null, retrain: null, exit_code: 0 };
  }
  log("drift is FAIL: retraining");
  const retrain = await runRetrain(config, { log });
  log(describeRetrain(retrain));
  return { drift, drift_error: null, retrain, exit_code: retrain.ok ? 0 : 1 };
}

/** The `drift:retrain` task. */
export const driftRetrainTask: Task = {
  name: "drift:retrain",
  summary:
    "Check drift and retrain (then promote through the gate) only when it is FAIL; exit 0 unless something failed.",
  flags: {
    "as-of-date": {
      type: "string",
      value: "YYYY-MM-DD",
      description: "Date whose population is compared",
      default: "the latest in user_daily",
    },
  },
  async run({ config, flags }) {
    const r = await runDriftRetrain(config, {
      asOfDate: asOfDateFlag(flags),
      log: (m) => console.error(`[drift:retrain] ${m}`),
    });
    return r.exit_code;
  },
};
