/**
 * What happened with each response, per prompt version: the same metrics as the Python SDK's
 * `record()`, `track()` and `feedback()` (responses by outcome, duration, tokens, cost,
 * feedback), labelled by prompt, label, variant, version and hash, with at most MAX_VERSIONS
 * (variant, version, hash) sets per prompt, the least recently used dropped first.
 */

export const RESPONSES = "promptrelease_responses_total";
export const DURATION = "promptrelease_response_duration_seconds";
export const TOKENS = "promptrelease_tokens_total";
export const COST = "promptrelease_cost_total";
export const FEEDBACK = "promptrelease_feedback_score";
/** Seconds: OpenTelemetry's advice for gen_ai.client.operation.duration. */
export const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
export const MAX_VERSIONS = 16;

/** A Prompt, as select() or current returned it. */
export interface Chosen {
  readonly name: string;
  readonly label: string;
  readonly version: string;
  readonly hash: string;
  readonly variant: string | null;
}

export interface Outcome {
  success?: boolean;
  latency?: number;
  inputTokens?: number;
  outputTokens?: number;
  cost?: number;
  feedback?: number;
}

export interface Tally {
  variant: string;
  version: string;
  hash: string;
  success: number;
  error: number;
  buckets: number[];
  durationSum: number;
  durationCount: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  feedbackSum: number;
  feedbackCount: number;
}

/** What track()'s callback learns about its response. */
export class Call {
  success = true;
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  spent: number | undefined;
  tokens(input?: number, output?: number): void {
    this.inputTokens = input;
    this.outputTokens = output;
  }
  cost(amount: number): void {
    this.spent = amount;
  }
  /** The response is an error though nothing was thrown. */
  fail(): void {
    this.success = false;
  }
}

function checked(what: string, value: number | undefined, whole = false): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number") throw new RangeError(`${what} must be a number, not ${typeof value}`);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${what} must be a finite number >= 0, not ${value}`);
  if (whole && !Number.isInteger(value)) throw new RangeError(`${what} must be a whole number, not ${value}`);
  return value;
}

function score(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new RangeError(`feedback must be a finite number, not ${value}`);
  return value;
}

/** The outcome metrics of one prompt in this process. */
export class Outcomes {
  private readonly tallies = new Map<string, Tally>();
  evicted = 0;

  constructor(readonly maxVersions = MAX_VERSIONS) {}

  /** One response served from `chosen`: its outcome and whichever numbers are known. */
  record(chosen: Chosen, outcome: Outcome = {}): void {
    const latency = checked("latency", outcome.latency);
    const input = checked("inputTokens", outcome.inputTokens, true);
    const output = checked("outputTokens", outcome.outputTokens, true);
    const cost = checked("cost", outcome.cost);
    const feedback = score(outcome.feedback);
    const tally = this.tally(chosen);
    if (outcome.success ?? true) tally.success += 1;
    else tally.error += 1;
    if (latency !== undefined) {
      DURATION_BUCKETS.forEach((bound, index) => {
        if (latency <= bound) tally.buckets[index] = (tally.buckets[index] ?? 0) + 1;
      });
      tally.durationSum += latency;
      tally.durationCount += 1;
    }
    tally.inputTokens += input ?? 0;
    tally.outputTokens += output ?? 0;
    tally.cost += cost ?? 0;
    if (feedback !== undefined) {
      tally.feedbackSum += feedback;
      tally.feedbackCount += 1;
    }
  }

  /** A feedback score for a response of `chosen`, given later. */
  feedback(chosen: Chosen, value: number): void {
    const checkedScore = score(value) as number;
    const tally = this.tally(chosen);
    tally.feedbackSum += checkedScore;
    tally.feedbackCount += 1;
  }

  /** Time one response: `work` gets a Call; a rejection or a throw records an error. */
  async track<T>(chosen: Chosen, work: (call: Call) => T | Promise<T>): Promise<T> {
    const call = new Call();
    const started = performance.now();
    try {
      return await work(call);
    } catch (error) {
      call.success = false;
      throw error;
    } finally {
      this.record(chosen, {
        success: call.success,
        latency: (performance.now() - started) / 1000,
        inputTokens: call.inputTokens,
        outputTokens: call.outputTokens,
        cost: call.spent,
      });
    }
  }

  /** Every (variant, version, hash) and a copy of its numbers, least recently used first. */
  snapshot(): Tally[] {
    return [...this.tallies.values()].map((tally) => ({ ...tally, buckets: [...tally.buckets] }));
  }

  private tally(chosen: Chosen): Tally {
    const variant = chosen.variant ?? "stable";
    const key = `${variant}\u0000${chosen.version}\u0000${chosen.hash}`;
    let tally = this.tallies.get(key);
    if (tally === undefined) {
      tally = {
        variant,
        version: chosen.version,
        hash: chosen.hash,
        success: 0,
        error: 0,
        buckets: DURATION_BUCKETS.map(() => 0),
        durationSum: 0,
        durationCount: 0,
        inputTokens: 0,
        outputTokens: 0,
        cost: 0,
        feedbackSum: 0,
        feedbackCount: 0,
      };
    }
    this.tallies.delete(key);
    this.tallies.set(key, tally); // most recently used last
    while (this.tallies.size > this.maxVersions) {
      const oldest = this.tallies.keys().next().value as string;
      this.tallies.delete(oldest);
      this.evicted += 1;
    }
    return tally;
  }
}

const FAMILIES: [string, string, string, string[]][] = [
  [RESPONSES, "counter", "Responses served from each prompt version, by outcome.", [RESPONSES]],
  [DURATION, "histogram", "Seconds each response took.", [`${DURATION}_bucket`, `${DURATION}_sum`, `${DURATION}_count`]],
  [TOKENS, "counter", "Tokens in (prompt) and out (completion) per prompt version.", [TOKENS]],
  [COST, "counter", "What the responses cost, in the workload's unit.", [COST]],
  [FEEDBACK, "summary", "Feedback scores given to the responses.", [`${FEEDBACK}_sum`, `${FEEDBACK}_count`]],
];

/** The sample lines of one prompt's outcomes; `families` adds HELP and TYPE. */
export function exposition(prompt: string, label: string, outcomes: Outcomes, escape: (value: unknown) => string): string[] {
  const lines: string[] = [];
  for (const t of outcomes.snapshot()) {
    const base = `prompt="${escape(prompt)}",label="${escape(label)}",variant="${escape(t.variant)}",version="${escape(t.version)}",hash="${escape(t.hash)}"`;
    lines.push(`${RESPONSES}{${base},outcome="success"} ${t.success}`, `${RESPONSES}{${base},outcome="error"} ${t.error}`);
    DURATION_BUCKETS.forEach((bound, index) => lines.push(`${DURATION}_bucket{${base},le="${bound}"} ${t.buckets[index]}`));
    lines.push(`${DURATION}_bucket{${base},le="+Inf"} ${t.durationCount}`);
    lines.push(`${DURATION}_sum{${base}} ${t.durationSum}`, `${DURATION}_count{${base}} ${t.durationCount}`);
    lines.push(`${TOKENS}{${base},type="input"} ${t.inputTokens}`, `${TOKENS}{${base},type="output"} ${t.outputTokens}`);
    lines.push(`${COST}{${base}} ${t.cost}`);
    lines.push(`${FEEDBACK}_sum{${base}} ${t.feedbackSum}`, `${FEEDBACK}_count{${base}} ${t.feedbackCount}`);
  }
  return lines;
}

/** HELP and TYPE for each family, each followed by its own samples. */
export function families(samples: string[]): string[] {
  const lines: string[] = [];
  for (const [name, kind, help, names] of FAMILIES) {
    const own = samples.filter((line) => names.includes(line.split("{", 1)[0] ?? ""));
    if (own.length) lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${kind}`, ...own);
  }
  return lines;
}
