/**
 * mustache, the portable template format, rendered with mustache.js exactly as the Python and
 * Go SDKs render it (the conformance kit proves it):
 * - tag names are `.` (inside a section) or dotted identifiers; partials are refused;
 * - nothing is HTML-escaped: `{{x}}` and `{{{x}}}` insert the value as it is;
 * - values are JSON data only: names resolve own members of plain objects (never a prototype,
 *   a string's or an array's properties), so no lambda or method is ever reached;
 * - numbers print in ECMAScript's shortest form, booleans as true/false, null as nothing; an
 *   empty object counts as null; interpolating a list or an object is an error.
 */
import Mustache from "mustache";
import { RenderError } from "./errors.js";

export const MUSTACHE = "mustache";
export const PORTABLE_FORMATS: ReadonlySet<string> = new Set([MUSTACHE]);
export const MAX_SECTION_DEPTH = 32;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Whether every SDK (Python, TypeScript, Go) renders this format alike. */
export function isPortable(templateFormat: string): boolean {
  return PORTABLE_FORMATS.has(templateFormat);
}

type Token = [string, string, number, number, Token[]?];

/** Every construct of a mustache template that validation refuses, named; a syntax error is
 * one too. Empty when the template is safe. */
export function refusals(text: string): string[] {
  let tokens: Token[];
  try {
    tokens = Mustache.parse(text) as unknown as Token[];
  } catch (error) {
    return [`mustache: ${(error as Error).message}`];
  }
  const found: string[] = [];
  const walk = (list: Token[], depth: number): void => {
    for (const token of list) {
      const [type, name, start] = token;
      if (!["name", "&", "#", "^", ">"].includes(type)) continue;
      const where = `mustache, offset ${start}`;
      if (type === ">") {
        found.push(`${where}: the partial {{>${name}}} is refused: a prompt is one self-contained template`);
      } else if (name === "." && depth === 0) {
        found.push(`${where}: {{.}} outside a section would print every variable; name one`);
      } else if (name !== "." && !NAME.test(name)) {
        found.push(`${where}: {{${name}}} is not a name: tags name a variable or a dotted path of identifiers`);
      }
      if (type === "#" || type === "^") {
        if (depth + 1 > MAX_SECTION_DEPTH) {
          found.push(`${where}: sections nest more than ${MAX_SECTION_DEPTH} deep`);
        } else {
          walk(token[4] ?? [], depth + 1);
        }
      }
    }
  };
  walk(tokens, 0);
  return found;
}

/** Variables as plain JSON data in null-prototype objects; RenderError for anything else (a
 * function, a class instance, a Date), so nothing outside the data is reachable. */
export function jsonData(value: unknown, where = "a variable"): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RenderError("value", `mustache: ${where} is ${value}`);
    return value;
  }
  if (Array.isArray(value)) return value.map((item, index) => jsonData(item, `${where}[${index}]`));
  if (typeof value === "object" && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    const entries = Object.entries(value as object);
    if (entries.length === 0) return null; // an empty object counts as null, in every SDK
    const copy = Object.create(null) as Record<string, unknown>;
    for (const [key, item] of entries) copy[key] = jsonData(item, `${where}.${key}`);
    return copy;
  }
  throw new RenderError(
    "value",
    `mustache: ${where} is a ${typeof value === "object" ? (value as object).constructor?.name ?? "object" : typeof value}; ` +
      "mustache values are JSON data (text, numbers, booleans, null, lists, objects)",
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Lookups that see own members of plain objects only, as the mustache spec resolves names. */
class JsonContext extends Mustache.Context {
  override push(view: unknown): Mustache.Context {
    return new JsonContext(view, this);
  }

  override lookup(name: string): unknown {
    if (name === ".") return this.view;
    const [first, ...rest] = name.split(".");
    let context: Mustache.Context | undefined = this;
    let value: unknown;
    let found = false;
    while (context !== undefined) {
      const view: unknown = context.view;
      if (isRecord(view) && Object.hasOwn(view, first as string)) {
        value = view[first as string];
        found = true;
        break;
      }
      context = context.parent;
    }
    if (!found) return undefined;
    for (const part of rest) {
      if (!isRecord(value) || !Object.hasOwn(value, part)) return undefined;
      value = value[part];
    }
    return value;
  }
}

/** How a value prints in a tag, the same in every SDK. */
export function mustacheText(value: unknown, name: string): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return JSON.stringify(value);
  if (typeof value === "string") return value;
  const kind = Array.isArray(value) ? "a list" : "an object";
  throw new RenderError("value", `mustache: {{${name}}} names ${kind}; iterate it with a section instead`);
}

class PromptWriter extends Mustache.Writer {
  override escapedValue(token: string[], context: Mustache.Context): string {
    return mustacheText(context.lookup(token[1] as string), token[1] as string);
  }

  override unescapedValue(token: string[], context: Mustache.Context): string {
    return mustacheText(context.lookup(token[1] as string), token[1] as string);
  }
}

const writer = new PromptWriter();

/** Render a mustache template with JSON variables; the caller binds the variables first (bind). */
export function renderMustache(text: string, variables: Record<string, unknown>): string {
  const refused = refusals(text);
  if (refused.length) throw new RenderError("value", refused.join("; "));
  const data = jsonData(variables) ?? Object.create(null);
  return writer.render(text, new JsonContext(data), {});
}

