/**
 * A prompt mounted from a release's ConfigMap, reloaded when the kubelet swaps it.
 *
 * The kubelet writes a new ConfigMap revision into a timestamped folder and swaps the `..data`
 * symlink. On access, at most once per `checkInterval` seconds, MountedPrompt compares the
 * `..data` target (one readlink, no timer, no polling); after a swap it reads and verifies the
 * new files and only then serves them. New files that are unreadable or don't verify are
 * refused: the last good prompt (and canary) keep being served, and the next check tries again.
 */
import { readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { PayloadError } from "./errors.js";
import { type Call, type Outcome, Outcomes } from "./outcomes.js";
import {
  type Attributes,
  CANARY_FILE,
  type Canary,
  type Message,
  PAYLOAD_FILE,
  type Prompt,
  type TracingAttributes,
  type Variant,
  parseCanary,
  parsePayload,
} from "./payload.js";

export interface Logger {
  warn(message: string): void;
  info(message: string): void;
}

export interface MountedPromptOptions {
  /** Refuse payloads that don't re-hash (default true). */
  verify?: boolean;
  /** Seconds between checks for a swap (default 1). */
  checkInterval?: number;
  /** Where reloads and refusals are reported (default: console.warn, and nothing for info). */
  logger?: Logger;
}

export interface Selection {
  variant: Variant;
  version: string;
  hash: string;
  count: number;
}

interface Served {
  stable: Prompt;
  canary: Canary | null;
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new PayloadError("read", `cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Read and verify `<directory>/prompt.json` once. */
export function loadPayload(directory: string, options: { verify?: boolean } = {}): Prompt {
  return parsePayload(readText(join(directory, PAYLOAD_FILE)), options);
}

/** Read `<directory>/canary.json` once; null when the release runs no canary. */
export function loadCanary(directory: string, options: { verify?: boolean } = {}): Canary | null {
  const path = join(directory, CANARY_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new PayloadError("read", `cannot read ${path}: ${(error as Error).message}`);
  }
  return parseCanary(text, options);
}

function load(directory: string, verify: boolean): Served {
  const stable = loadPayload(directory, { verify });
  const canary = loadCanary(directory, { verify });
  if (canary !== null && (canary.prompt.name !== stable.name || canary.prompt.label !== stable.label)) {
    throw new PayloadError(
      "malformed",
      `${CANARY_FILE} is a candidate of ${canary.prompt.name}/${canary.prompt.label}, not ${stable.name}/${stable.label}`,
    );
  }
  return { stable, canary };
}

const quietLogger: Logger = { warn: (message) => console.warn(message), info: () => undefined };

export class MountedPrompt {
  readonly directory: string;
  readonly verify: boolean;
  readonly checkInterval: number;
  reloads = 0;
  failedReloads = 0;
  private readonly logger: Logger;
  private marker: string;
  private served: Served;
  private checkedAt: number;
  private readonly counts = new Map<string, Selection>();
  /** What happened with each response (record, track, feedback), for metricsText. */
  readonly outcomes = new Outcomes();

  /** Throws PayloadError when prompt.json is missing, of an unknown format, or fails its hash
   * check. A bad canary.json only means no canary: everyone gets the stable prompt. */
  constructor(directory: string, options: MountedPromptOptions = {}) {
    this.directory = directory;
    this.verify = options.verify ?? true;
    this.checkInterval = options.checkInterval ?? 1;
    this.logger = options.logger ?? quietLogger;
    this.marker = this.readMarker();
    const stable = loadPayload(directory, { verify: this.verify });
    try {
      this.served = load(directory, this.verify);
    } catch (error) {
      if (!(error instanceof PayloadError)) throw error;
      this.logger.warn(`serving ${stable.name} ${stable.version} to all: ${error.message}`);
      this.served = { stable, canary: null };
    }
    this.checkedAt = performance.now();
  }

  /** The newest good (stable) prompt; checks for a swap at most every checkInterval seconds. */
  get current(): Prompt {
    return this.now().stable;
  }

  /** The canary's candidate prompt, when the release runs a canary. */
  get candidate(): Prompt | null {
    return this.now().canary?.prompt ?? null;
  }

  /** The canary: its split and candidate (null without one). */
  get canary(): Canary | null {
    return this.now().canary;
  }

  /** The stable prompt or the canary's candidate for this request, tagged with its variant.
   * With a key (a user or session id) the choice is sticky; without one each call draws at
   * random. attributes pick a segment's weight. */
  select(key?: string | null, attributes: Attributes = {}): Prompt {
    const served = this.now();
    const chosen =
      served.canary !== null && served.canary.split.servesCandidate(key, attributes)
        ? served.canary.prompt
        : served.stable.withVariant("stable");
    const id = `${chosen.variant}\u0000${chosen.version}\u0000${chosen.hash}`;
    const entry = this.counts.get(id);
    if (entry) entry.count += 1;
    else this.counts.set(id, { variant: chosen.variant as Variant, version: chosen.version, hash: chosen.hash, count: 1 });
    return chosen;
  }

  /** One response served from `chosen` (what select() or current returned): its outcome and
   * whichever numbers are known. RangeError for a negative or non-finite one. */
  record(chosen: Prompt, outcome: Outcome = {}): void {
    this.outcomes.record(this.own(chosen), outcome);
  }

  /** Time one response served from `chosen`; a throw or a rejection records an error. */
  track<T>(chosen: Prompt, work: (call: Call) => T | Promise<T>): Promise<T> {
    return this.outcomes.track(this.own(chosen), work);
  }

  /** A feedback score for a response served from `chosen`, given after it was recorded. */
  feedback(chosen: Prompt, score: number): void {
    this.outcomes.feedback(this.own(chosen), score);
  }

  private own(chosen: Prompt): Prompt {
    const stable = this.served.stable;
    if (chosen.name !== stable.name || chosen.label !== stable.label) {
      throw new RangeError(`${chosen.name}/${chosen.label} is not this prompt (${stable.name}/${stable.label})`);
    }
    return chosen;
  }

  /** How many times select() chose each (variant, version, hash) in this process. */
  selections(): Selection[] {
    return [...this.counts.values()].map((entry) => ({ ...entry }));
  }

  get name(): string {
    return this.current.name;
  }
  get version(): string {
    return this.current.version;
  }
  get hash(): string {
    return this.current.hash;
  }
  get label(): string {
    return this.current.label;
  }
  get revision(): number {
    return this.current.revision;
  }
  render(variables: Record<string, unknown> = {}): string {
    return this.current.render(variables);
  }
  renderMessages(variables: Record<string, unknown> = {}): Message[] {
    return this.current.renderMessages(variables);
  }
  tracingAttributes(): TracingAttributes {
    return this.current.tracingAttributes();
  }

  private now(): Served {
    if (performance.now() - this.checkedAt >= this.checkInterval * 1000) this.maybeReload();
    return this.served;
  }

  /** What identifies the files on disk: the `..data` target, else the files' mtimes. */
  private readMarker(): string {
    try {
      return readlinkSync(join(this.directory, "..data"));
    } catch {
      const marks = [PAYLOAD_FILE, CANARY_FILE].map((file) => {
        try {
          const stat = statSync(join(this.directory, file), { bigint: true });
          return `${stat.mtimeNs}:${stat.size}`;
        } catch {
          return "";
        }
      });
      return marks[0] ? marks.join("|") : "";
    }
  }

  private maybeReload(): void {
    this.checkedAt = performance.now();
    const marker = this.readMarker();
    if (marker === this.marker) return;
    let served: Served;
    try {
      served = load(this.directory, this.verify);
    } catch (error) {
      if (!(error instanceof PayloadError)) throw error;
      this.failedReloads += 1;
      const old = this.served.stable;
      this.logger.warn(`keeping ${old.name} ${old.version}: ${error.message}`);
      return; // the marker stays old, so the next check tries again
    }
    if (this.readMarker() !== marker) return; // swapped again while reading
    this.marker = marker;
    this.served = served;
    this.reloads += 1;
    const prompt = served.stable;
    this.logger.info(`reloaded ${prompt.name}: ${prompt.version} (${prompt.hash}, revision ${prompt.revision})`);
  }
}
