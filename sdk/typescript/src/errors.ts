/** The kinds of error every SDK reports alike (the conformance kit checks them). */
export type ErrorKind =
  | "read"
  | "malformed"
  | "format"
  | "hash"
  | "unsafe-template"
  | "variables"
  | "value"
  | "not-portable";

/** Base of the errors a reader of released prompts sees. */
export class PromptError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = new.target.name;
  }
}

/** prompt.json or canary.json is missing, unreadable, of an unknown format, unsafe, or fails
 * its hash check. */
export class PayloadError extends PromptError {}

/** Variables don't fit the prompt (missing or unexpected), a value can't be rendered, or the
 * prompt's format is Python-only. */
export class RenderError extends PromptError {}
