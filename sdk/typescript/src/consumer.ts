/**
 * The pod-template annotations that declare what a workload supplies and parses, for the
 * operator's consumer contract gate (docs/consumers.md), as the Python SDK and
 * `kubectl prompt consumer-annotations` print them.
 */
import { createHash } from "node:crypto";
import { canonicalJson, withoutNullMembers } from "./canonical.js";

export const SUPPLIES_VARIABLES = "promptrelease.io/supplies-variables";
export const ACCEPTS_RESPONSE_FORMAT = "promptrelease.io/accepts-response-format";

/** What of a prompt the annotations depend on (a `Prompt` has both). */
export interface Declares {
  readonly variables: readonly string[];
  readonly responseFormat: Readonly<Record<string, unknown>> | null;
}

/**
 * `sha256:` + hex SHA-256 of the canonical JSON of `responseFormat.schema` (null members
 * dropped): the content hash's rule, over what a consumer's parser depends on.
 */
export function responseFormatHash(responseFormat: Readonly<Record<string, unknown>>): string {
  const text = canonicalJson(withoutNullMembers(responseFormat.schema ?? null));
  return "sha256:" + createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * The annotations a workload using `prompt` should carry: the variables it supplies (every
 * declared one unless `supplies` names them) and the hash of its response format, if any.
 */
export function consumerAnnotations(prompt: Declares, supplies?: readonly string[]): Record<string, string> {
  const names = [...new Set(supplies ?? prompt.variables)].sort();
  const found: Record<string, string> = { [SUPPLIES_VARIABLES]: names.join(",") };
  if (prompt.responseFormat !== null) {
    found[ACCEPTS_RESPONSE_FORMAT] = responseFormatHash(prompt.responseFormat);
  }
  return found;
}
