/**
 * Declared variables: plain names, or typed entries {name, type, required, default,
 * description}. The same rules as the Python SDK (core/variables.py): a plain name is a required
 * variable of any type; `required` is true unless the entry has a default; a missing optional
 * variable takes its default, else the zero value of its type.
 */
import { RenderError } from "./errors.js";

export const TYPES = ["string", "number", "integer", "boolean", "object", "array"] as const;
export type VariableType = (typeof TYPES)[number];

/** One declared variable, a plain name or a typed entry alike. */
export interface Variable {
  readonly name: string;
  readonly type: VariableType | null;
  readonly required: boolean;
  readonly default: unknown;
  readonly hasDefault: boolean;
  readonly description: string | null;
}

const ZERO: Record<string, unknown> = { string: "", number: 0, integer: 0, boolean: false, object: {}, array: [] };

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The JSON type of a value, as JSON Schema names it. */
export function jsonType(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  if (typeof value === "string") return "string";
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") return "object";
  return typeof value;
}

/** Whether a value is of the declared type (anything fits no type). JSON has one number
 * type, so 3.0 and 3 are the same integer here, as in JSON Schema. */
export function fits(value: unknown, type: VariableType | null): boolean {
  if (type === null) return true;
  const found = jsonType(value);
  if (type === "number") return found === "number" || found === "integer";
  return found === type;
}

/** The entries of a payload's `variables` as Variables (entries without a name left out). */
export function declared(entries: readonly unknown[]): Variable[] {
  const found: Variable[] = [];
  for (const entry of entries) {
    if (typeof entry === "string") {
      found.push({ name: entry, type: null, required: true, default: undefined, hasDefault: false, description: null });
      continue;
    }
    if (!isObject(entry) || typeof entry.name !== "string") continue;
    const type = (TYPES as readonly unknown[]).includes(entry.type) ? (entry.type as VariableType) : null;
    const hasDefault = entry.default !== undefined && entry.default !== null;
    found.push({
      name: entry.name,
      type,
      required: typeof entry.required === "boolean" ? entry.required : !hasDefault,
      default: hasDefault ? entry.default : undefined,
      hasDefault,
      description: typeof entry.description === "string" ? entry.description : null,
    });
  }
  return found;
}

function missingValue(variable: Variable): unknown {
  const value = variable.hasDefault ? variable.default : variable.type === null ? "" : ZERO[variable.type];
  return structuredClone(value);
}

/** The values a render uses: those given, checked against their types, and for the rest their
 * defaults. RenderError (kind "variables") names every missing, unexpected and mistyped one. */
export function bind(variables: readonly Variable[], given: Record<string, unknown>): Record<string, unknown> {
  const wanted = new Map(variables.map((variable) => [variable.name, variable]));
  const names = Object.keys(given);
  const missing = [...wanted.values()].filter((v) => v.required && !Object.hasOwn(given, v.name)).map((v) => v.name).sort();
  const unexpected = names.filter((name) => !wanted.has(name)).sort();
  const wrong = names
    .filter((name) => wanted.has(name) && !fits(given[name], wanted.get(name)!.type))
    .sort()
    .map((name) => `${name} must be ${wanted.get(name)!.type}, not ${jsonType(given[name])}`);
  const problems: string[] = [];
  if (missing.length) problems.push(`missing variable(s): ${missing.join(", ")}`);
  if (unexpected.length) problems.push(`unexpected variable(s): ${unexpected.join(", ")}`);
  if (wrong.length) problems.push(`variable(s) of the wrong type: ${wrong.join("; ")}`);
  if (problems.length) {
    throw new RenderError("variables", `${problems.join("; ")} (declared: ${[...wanted.keys()].sort().join(", ")})`);
  }
  const bound: Record<string, unknown> = { ...given };
  for (const variable of wanted.values()) {
    if (!Object.hasOwn(bound, variable.name)) bound[variable.name] = missingValue(variable);
  }
  return bound;
}
