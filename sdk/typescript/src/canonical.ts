/**
 * RFC 8785 (JSON Canonicalization Scheme) and the content hash of a PromptVersion spec:
 * `sha256:` + hex SHA-256 of the canonical JSON of the spec without its `hash` field, object
 * members whose value is null dropped (at any depth), nulls inside lists kept.
 */
import { createHash } from "node:crypto";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export class CanonicalizationError extends Error {}

function encode(value: unknown, out: string[]): void {
  if (value === null) {
    out.push("null");
  } else if (typeof value === "boolean") {
    out.push(value ? "true" : "false");
  } else if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new CanonicalizationError(`${value} is not a JSON number`);
    out.push(JSON.stringify(value)); // ECMAScript's Number::toString: what RFC 8785 specifies
  } else if (typeof value === "string") {
    if (!value.isWellFormed()) throw new CanonicalizationError("text is not valid Unicode");
    out.push(JSON.stringify(value));
  } else if (Array.isArray(value)) {
    out.push("[");
    value.forEach((item, index) => {
      if (index) out.push(",");
      encode(item, out);
    });
    out.push("]");
  } else if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    out.push("{");
    Object.keys(record)
      .sort() // UTF-16 code units, as RFC 8785 orders keys
      .forEach((key, index) => {
        if (index) out.push(",");
        out.push(JSON.stringify(key), ":");
        encode(record[key], out);
      });
    out.push("}");
  } else {
    throw new CanonicalizationError(`${typeof value} has no JSON form`);
  }
}

/** The RFC 8785 canonical text of a JSON value. */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  encode(value, out);
  return out.join("");
}

/** Drop object members whose value is null, at any depth; keep nulls that are list items. */
export function withoutNullMembers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNullMembers);
  if (value !== null && typeof value === "object") {
    const kept: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== null && item !== undefined) kept[key] = withoutNullMembers(item);
    }
    return kept;
  }
  return value;
}

/** The content hash of a PromptVersion spec, ignoring its own `hash` pin. */
export function contentHash(spec: Record<string, unknown>): string {
  const unpinned = Object.fromEntries(Object.entries(spec).filter(([key]) => key !== "hash"));
  const text = canonicalJson(withoutNullMembers(unpinned));
  return "sha256:" + createHash("sha256").update(text, "utf8").digest("hex");
}
