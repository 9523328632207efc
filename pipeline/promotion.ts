/**
 * The promotion gate (SPEC §8): champion/challenger with guardrails. Pure: it
 * takes the candidates' and the production model's metrics and says what to do
 * and why, with the numbers.
 *
 * @module
 */

/** The figures of one model the gate looks at. */
export interface ModelScore {
  /** The version (artifact name). */
  version: string;
  /** Model family. */
  model_type: string;
  /** The primary metric on the test split (null when undefined, e.g. a single-class test set). */
  primary: number | null;
  /** Brier score on the test split. */
  brier: number;
}

/** The gate's settings (config `evaluation.primary_metric` and `promotion`). */
export interface GateSettings {
  /** Name of the primary metric, for messages. */
  primaryMetric: string;
  /** The winner must beat production by at least this much. */
  minImprovement: number;
  /** The winner's primary metric must be at least this. */
  minPrimaryMetric: number;
  /** The winner's Brier score may exceed production's by at most this. */
  maxBrierIncrease: number;
}

/** What the gate decided. */
export interface GateDecision {
  /** `promote`: the winner becomes production; `challenger`: it becomes the challenger; `none`: nothing changes. */
  action: "promote" | "challenger" | "none";
  /** The better of the newest models, or null when there is none with a metric. */
  winner: ModelScore | null;
  /** The current production model, if any. */
  production: ModelScore | null;
  /** Sentences saying why, with the numbers. */
  reasons: string[];
}

const f = (v: number | null) => v === null ? "n/a" : v.toFixed(4);

/**
 * Picks the better of the newest models by the primary metric and decides:
 * promote it when it passes the guardrails (a floor on the primary metric;
 * Brier score not worse than production's by more than the margin) and beats
 * production by at least `minImprovement`; otherwise make it the challenger.
 */
export function decidePromotion(
  contenders: readonly ModelScore[],
  production: ModelScore | null,
  settings: GateSettings,
): GateDecision {
  const scored = contenders.filter((c) => c.primary !== null);
  const reasons: string[] = [];
  for (const c of contenders) {
    if (c.primary === null) reasons.push(`${c.version} has no ${settings.primaryMetric} (single-class test split)`);
  }
  if (scored.length === 0) {
    reasons.push("No trained model with a primary metric to promote");
    return { action: "none", winner: null, production, reasons };
  }
  const winner = scored.reduce((a, b) => (b.primary! > a.primary! ? b : a));
  for (const c of scored) {
    if (c !== winner) {
      reasons.push(
        `${winner.version} (${settings.primaryMetric} ${f(winner.primary)}) beats ${c.version} (${f(c.primary)})`,
      );
    }
  }
  if (production !== null && production.version === winner.version) {
    reasons.push(`${winner.version} is already production`);
    return { action: "none", winner, production, reasons };
  }
  const failures: string[] = [];
  if (winner.primary! < settings.minPrimaryMetric) {
    failures.push(
      `${settings.primaryMetric} ${f(winner.primary)} is below the floor ${f(settings.minPrimaryMetric)}`,
    );
  }
  if (production !== null) {
    if (production.primary !== null) {
      const gain = winner.primary! - production.primary;
      if (gain < settings.minImprovement) {
        failures.push(
          `${settings.primaryMetric} ${f(winner.primary)} vs production ${production.version} ${
            f(production.primary)
          }: ` +
            `improvement ${gain >= 0 ? "+" : ""}${gain.toFixed(4)} is less than the required ${
              settings.minImprovement.toFixed(4)
            }`,
        );
      }
    }
    if (winner.brier > production.brier + settings.maxBrierIncrease) {
      failures.push(
        `Brier score ${f(winner.brier)} is worse than production's ${f(production.brier)} by more than ${
          settings.maxBrierIncrease.toFixed(4)
        }`,
      );
    }
  }
  if (failures.length > 0) {
    reasons.push(...failures.map((x) => `${winner.version} stays challenger: ${x}`));
    return { action: "challenger", winner, production, reasons };
  }
  reasons.push(
    production === null
      ? `${winner.version} becomes production (${settings.primaryMetric} ${
        f(winner.primary)
      }; there was no production model)`
      : `${winner.version} becomes production: ${settings.primaryMetric} ${f(winner.primary)} vs ${
        f(production.primary)
      }, ` +
        `Brier ${f(winner.brier)} vs ${f(production.brier)}`,
  );
  return { action: "promote", winner, production, reasons };
}
