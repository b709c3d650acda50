/**
 * Read the prompt a Prompt Release Operator release mounts into a Pod: verify its hash,
 * hot-reload on the kubelet's swap, render mustache prompts, pick the canary sticky per key,
 * and tag traces with the exact version and hash.
 *
 *     import { MountedPrompt } from "@prompt-release/sdk";
 *     const prompt = new MountedPrompt("/etc/prompts/ticket-summarizer");
 *     const current = prompt.current;            // one snapshot per request
 *     const text = current.render({ ticket });
 *     span.setAttributes(current.tracingAttributes());
 */
export { canonicalJson, contentHash, withoutNullMembers, CanonicalizationError } from "./canonical.js";
export type { Json } from "./canonical.js";
export {
  ACCEPTS_RESPONSE_FORMAT,
  SUPPLIES_VARIABLES,
  consumerAnnotations,
  responseFormatHash,
} from "./consumer.js";
export type { Declares } from "./consumer.js";
export { PromptError, PayloadError, RenderError } from "./errors.js";
export type { ErrorKind } from "./errors.js";
export { info, metricsText, serveInfo, METRIC, SELECTIONS } from "./info.js";
export type { Info, Served } from "./info.js";
export { MountedPrompt, loadCanary, loadPayload } from "./mounted.js";
export { Call, Outcomes, DURATION_BUCKETS, MAX_VERSIONS } from "./outcomes.js";
export type { Chosen, Outcome, Tally } from "./outcomes.js";
export type { Logger, MountedPromptOptions, Selection } from "./mounted.js";
export {
  BUCKETS,
  CANARY_FILE,
  Canary,
  PAYLOAD_FILE,
  Prompt,
  Split,
  bucket,
  parseCanary,
  parsePayload,
  segmentMatches,
  threshold,
} from "./payload.js";
export type { Attributes, Message, Segment, TracingAttributes, Variant } from "./payload.js";
export { isPortable, refusals, renderMustache } from "./templates.js";
export { bind, declared, fits, jsonType, TYPES } from "./variables.js";
export type { Variable, VariableType } from "./variables.js";
