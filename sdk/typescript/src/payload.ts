/**
 * prompt.json and canary.json: the documents the operator writes into a release's ConfigMap
 * (see the project's DESIGN and docs/api.md), read back and verified.
 */
import { createHash, randomInt } from "node:crypto";
import { CanonicalizationError, contentHash } from "./canonical.js";
import { PayloadError, RenderError } from "./errors.js";
import { isPortable, refusals, renderMustache } from "./templates.js";
import { bind, declared, type Variable } from "./variables.js";

export const PAYLOAD_FILE = "prompt.json";
export const CANARY_FILE = "canary.json";
export const PAYLOAD_FORMAT = 1;
/** The format of a payload whose variables hold typed entries. */
export const TYPED_FORMAT = 2;
/** The format of a payload composed from includes: `source` holds its texts as written. */
export const COMPOSED_FORMAT = 3;
export const READABLE_FORMATS: readonly number[] = [PAYLOAD_FORMAT, TYPED_FORMAT, COMPOSED_FORMAT];
export const CANARY_FORMAT = 1;
export const BUCKETS = 100_000;
export type Variant = "stable" | "canary";

export interface Message {
  role: string;
  content: string;
  name?: string;
  [key: string]: unknown;
}

export type TracingAttributes = Record<string, string | number>;

/** One released prompt, exactly as the operator wrote it. Immutable. */
export class Prompt {
  readonly name: string;
  readonly label: string;
  readonly version: string;
  readonly hash: string;
  readonly revision: number;
  readonly releasedAt: string;
  readonly changelog: string;
  readonly templateFormat: string;
  /** The declared variables' names. */
  readonly variables: readonly string[];
  /** Every declared variable with its type, whether it is required, and its default. */
  readonly inputs: readonly Variable[];
  /** The function definitions the model may call, as the version declares them. */
  readonly tools: readonly Readonly<Record<string, unknown>>[];
  /** {name, schema, ...}: the JSON Schema a model's output must satisfy, or null. */
  readonly responseFormat: Readonly<Record<string, unknown>> | null;
  readonly model: Readonly<Record<string, unknown>> | null;
  readonly template: string | null;
  readonly messages: readonly Readonly<Message>[] | null;
  readonly payload: Readonly<Record<string, unknown>>;
  /** "stable" or "canary" when select() chose it; null for a plain read. */
  readonly variant: Variant | null;

  constructor(payload: Record<string, unknown>, variant: Variant | null = null) {
    for (const key of ["prompt", "label", "version", "hash", "revision"]) {
      if (!(key in payload)) throw new PayloadError("malformed", `${PAYLOAD_FILE} lacks the key '${key}'`);
    }
    this.payload = payload;
    this.name = String(payload.prompt);
    this.label = String(payload.label);
    this.version = String(payload.version);
    this.hash = String(payload.hash);
    this.revision = Number(payload.revision);
    this.releasedAt = String(payload.releasedAt ?? "");
    this.changelog = String(payload.changelog ?? "");
    this.templateFormat = String(payload.templateFormat || "f-string");
    const entries = payload.variables ?? [];
    if (!Array.isArray(entries)) throw new PayloadError("malformed", `${PAYLOAD_FILE}: variables must be a list`);
    this.inputs = Object.freeze(declared(entries).map((variable) => Object.freeze(variable)));
    this.variables = Object.freeze(this.inputs.map((variable) => variable.name));
    this.tools = Object.freeze([...((payload.tools as Record<string, unknown>[] | undefined) ?? [])]);
    this.responseFormat = (payload.responseFormat as Record<string, unknown> | null | undefined) ?? null;
    this.model = (payload.model as Record<string, unknown> | null | undefined) ?? null;
    this.template = typeof payload.template === "string" ? payload.template : null;
    this.messages = Array.isArray(payload.messages) ? Object.freeze([...(payload.messages as Message[])]) : null;
    this.variant = variant;
    Object.freeze(this);
  }

  get isChat(): boolean {
    return this.messages !== null;
  }

  /** Whether every SDK renders this prompt alike (mustache); f-string and jinja2 are Python-only. */
  get portable(): boolean {
    return isPortable(this.templateFormat);
  }

  withVariant(variant: Variant): Prompt {
    return new Prompt(this.payload as Record<string, unknown>, variant);
  }

  /** The text prompt with its variables filled in. */
  render(variables: Record<string, unknown> = {}): string {
    if (this.template === null) throw new RenderError("value", `${this.name} is a chat prompt: use renderMessages()`);
    const bound = this.check(variables);
    return this.fill(this.template, bound);
  }

  /** The chat prompt's messages with their variables filled in. */
  renderMessages(variables: Record<string, unknown> = {}): Message[] {
    if (this.messages === null) throw new RenderError("value", `${this.name} is a text prompt: use render()`);
    const bound = this.check(variables);
    return this.messages.map((message) => ({ ...message, content: this.fill(String(message.content ?? ""), bound) }));
  }

  /** Span attributes: OpenTelemetry GenAI names where they exist, ours for the rest. */
  tracingAttributes(): TracingAttributes {
    const attributes: TracingAttributes = {
      "gen_ai.prompt.name": this.name,
      "gen_ai.prompt.version": this.version,
      "promptrelease.hash": this.hash,
      "promptrelease.label": this.label,
      "promptrelease.revision": this.revision,
    };
    if (this.variant !== null) attributes["promptrelease.variant"] = this.variant;
    const names = this.tools.map((tool) => String((tool.function as Record<string, unknown> | undefined)?.name));
    if (names.length) attributes["promptrelease.tools"] = names.join(",");
    if (this.responseFormat !== null) {
      attributes["promptrelease.response_format"] = String(this.responseFormat.name || this.name);
    }
    return attributes;
  }

  /** The given variables checked against the declared ones, defaults filled in. */
  private check(variables: Record<string, unknown>): Record<string, unknown> {
    if (!this.portable) {
      throw new RenderError(
        "not-portable",
        `${this.name} ${this.version}: templateFormat ${this.templateFormat} renders in Python only; use mustache`,
      );
    }
    try {
      return bind(this.inputs, variables);
    } catch (error) {
      throw this.named(error);
    }
  }

  private fill(text: string, variables: Record<string, unknown>): string {
    try {
      return renderMustache(text, variables);
    } catch (error) {
      throw this.named(error);
    }
  }

  private named(error: unknown): unknown {
    return error instanceof RenderError ? new RenderError(error.kind, `${this.name} ${this.version}: ${error.message}`) : error;
  }
}

function documentOf(text: string, file: string, formats: readonly number[]): Record<string, unknown> {
  let found: unknown;
  try {
    found = JSON.parse(text);
  } catch (error) {
    throw new PayloadError("malformed", `${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (found === null || typeof found !== "object" || Array.isArray(found)) {
    throw new PayloadError("malformed", `${file} must hold a JSON object`);
  }
  const document = found as Record<string, unknown>;
  if (typeof document.format !== "number" || !formats.includes(document.format)) {
    throw new PayloadError(
      "format",
      `${file} has format ${JSON.stringify(document.format)}; this SDK reads format ${formats.join(" or ")}: upgrade the SDK`,
    );
  }
  return document;
}

function verify(payload: Record<string, unknown>): void {
  const fields = payload.specFields;
  if (!Array.isArray(fields)) throw new PayloadError("hash", `${PAYLOAD_FILE} lacks specFields: cannot verify its hash`);
  const source = payload.source ?? {};
  if (source === null || typeof source !== "object" || Array.isArray(source)) {
    throw new PayloadError("hash", `${PAYLOAD_FILE}: source must be an object`);
  }
  const written = source as Record<string, unknown>;
  const spec: Record<string, unknown> = {};
  for (const field of fields) {
    const name = String(field);
    if (name in written) {
      spec[name] = written[name];
      continue;
    }
    if (!(name in payload)) throw new PayloadError("hash", `${PAYLOAD_FILE} cannot be re-hashed: no ${field}`);
    spec[name] = payload[name];
  }
  let computed: string;
  try {
    computed = contentHash(spec);
  } catch (error) {
    if (error instanceof CanonicalizationError) throw new PayloadError("hash", `${PAYLOAD_FILE} cannot be re-hashed: ${error.message}`);
    throw error;
  }
  if (computed !== payload.hash) {
    throw new PayloadError("hash", `${PAYLOAD_FILE} was altered: its content hashes to ${computed}, not ${String(payload.hash)}`);
  }
  if (payload.source !== undefined && payload.source !== null) verifyComposed(payload);
}

/** A composed payload's served texts must hash to its composedHash. */
function verifyComposed(payload: Record<string, unknown>): void {
  const key = "template" in payload ? "template" : "messages";
  let composed: string;
  try {
    composed = contentHash({ [key]: payload[key] });
  } catch (error) {
    if (error instanceof CanonicalizationError) throw new PayloadError("hash", `${PAYLOAD_FILE} cannot be re-hashed: ${error.message}`);
    throw error;
  }
  if (composed !== payload.composedHash) {
    throw new PayloadError("hash", `${PAYLOAD_FILE} was altered: its composed text hashes to ${composed}, not ${String(payload.composedHash)}`);
  }
}

/** The texts of a mustache prompt: refused when any holds what validation refuses. */
function refuseUnsafe(prompt: Prompt): Prompt {
  const texts: [string, unknown][] =
    prompt.template !== null || prompt.messages === null
      ? [["template", prompt.payload.template]]
      : prompt.messages.map((message, index) => [`messages[${index}].content`, message?.content]);
  for (const [where, text] of texts) {
    if (typeof text !== "string") throw new PayloadError("malformed", `${PAYLOAD_FILE}: ${where} must be a string`);
    if (!prompt.portable) continue; // Python-only formats: verified, never rendered here
    const refused = refusals(text);
    if (refused.length) {
      throw new PayloadError("unsafe-template", `${PAYLOAD_FILE} ${prompt.name} ${prompt.version}: ${where}: ${refused.join("; ")}`);
    }
  }
  return prompt;
}

/** A Prompt from the text of prompt.json; with verify, refused unless it re-hashes. Refused
 * either way when a mustache template holds what validation refuses. */
export function parsePayload(text: string, options: { verify?: boolean } = {}): Prompt {
  const payload = documentOf(text, PAYLOAD_FILE, READABLE_FORMATS);
  if (options.verify ?? true) verify(payload);
  return refuseUnsafe(new Prompt(payload));
}

export type Operator = "In" | "NotIn" | "Exists" | "DoesNotExist";
export type Attributes = Record<string, string | number | boolean | null | undefined>;

/** Requests whose attribute matches get this segment's weight instead of the default. */
export interface Segment {
  attribute: string;
  operator: Operator | string;
  values: readonly string[];
  weight: number;
}

function segmentOf(raw: Record<string, unknown>): Segment {
  return {
    attribute: String(raw.attribute ?? ""),
    operator: String(raw.operator || "In"),
    values: ((raw.values as unknown[] | undefined) ?? []).map(String),
    weight: Number(raw.weight || 0),
  };
}

/** Kubernetes label-selector semantics: NotIn and DoesNotExist match an absent attribute. */
export function segmentMatches(segment: Segment, attributes: Attributes): boolean {
  const raw = Object.hasOwn(attributes, segment.attribute) ? attributes[segment.attribute] : undefined;
  const present = raw !== undefined && raw !== null;
  const value = present ? String(raw) : null;
  switch (segment.operator) {
    case "In":
      return present && segment.values.includes(value as string);
    case "NotIn":
      return !present || !segment.values.includes(value as string);
    case "Exists":
      return present;
    case "DoesNotExist":
      return !present;
    default:
      return false;
  }
}

/** The bucket of a key, in [0, BUCKETS): sha256(salt ":" key), its first 8 bytes, big-endian. */
export function bucket(salt: string, key: string): number {
  const digest = createHash("sha256").update(`${salt}:${key}`, "utf8").digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(BUCKETS));
}

function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Buckets below this one get the candidate. */
export function threshold(weight: number): number {
  return Math.max(0, Math.min(BUCKETS, roundHalfEven((weight * BUCKETS) / 100)));
}

/** How requests are split between the stable version and the candidate. */
export class Split {
  constructor(
    readonly weight: number,
    readonly salt: string,
    readonly segments: readonly Segment[] = [],
  ) {
    Object.freeze(this);
  }

  weightFor(attributes: Attributes = {}): number {
    for (const segment of this.segments) {
      if (segmentMatches(segment, attributes)) return segment.weight;
    }
    return this.weight;
  }

  /** Whether this request gets the candidate: sticky for a key, random without one. */
  servesCandidate(key?: string | null, attributes: Attributes = {}): boolean {
    const limit = threshold(this.weightFor(attributes));
    if (limit <= 0) return false;
    if (limit >= BUCKETS) return true;
    if (key === undefined || key === null) return randomInt(BUCKETS) < limit;
    return bucket(this.salt, String(key)) < limit;
  }
}

/** canary.json read back: the split and the candidate's prompt. */
export class Canary {
  constructor(
    readonly split: Split,
    readonly prompt: Prompt,
    readonly startedAt: string,
  ) {
    Object.freeze(this);
  }

  get weight(): number {
    return this.split.weight;
  }
}

/** canary.json's text; with verify, the candidate must re-hash. */
export function parseCanary(text: string, options: { verify?: boolean } = {}): Canary {
  const found = documentOf(text, CANARY_FILE, [CANARY_FORMAT]);
  const inner = found.prompt;
  if (inner === null || typeof inner !== "object" || Array.isArray(inner)) {
    throw new PayloadError("malformed", `${CANARY_FILE}: prompt must be a JSON object`);
  }
  if (typeof found.salt !== "string" || typeof found.weight !== "number") {
    throw new PayloadError("malformed", `${CANARY_FILE} is malformed: weight and salt are required`);
  }
  const segments = ((found.segments as Record<string, unknown>[] | undefined) ?? []).map(segmentOf);
  let prompt: Prompt;
  try {
    prompt = parsePayload(JSON.stringify(inner), options);
  } catch (error) {
    if (error instanceof PayloadError) throw new PayloadError(error.kind, `${CANARY_FILE}: ${error.message}`);
    throw error;
  }
  if (prompt.version !== found.version || prompt.hash !== found.hash) {
    throw new PayloadError("hash", `${CANARY_FILE}: its prompt is not the version and hash it names`);
  }
  return new Canary(new Split(found.weight, found.salt, segments), prompt.withVariant("canary"), String(found.startedAt ?? ""));
}
