/** The TypeScript SDK's own surface: tracing attributes, metrics, select() counts, safety. */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MountedPrompt, Outcomes, RenderError, info, metricsText, parsePayload, renderMustache } from "../src/index.js";
import { type Case, cases, layOut } from "./kit.js";

const quiet = { warn: () => undefined, info: () => undefined };
const payload = (name: string): Case => cases("payloads.json").find((c: Case) => c.name === name);

describe("the prompt's contract", () => {
  it("reads typed variables, tools and the response format, and names them in traces", () => {
    const prompt = parsePayload(payload("mustache-typed").files["prompt.json"]);
    assert.deepEqual(prompt.variables, ["ticket", "count", "tone", "customer", "score", "urgent", "tags"]);
    assert.deepEqual(prompt.inputs[1], {
      name: "count",
      type: "integer",
      required: false,
      default: 3,
      hasDefault: true,
      description: "Bullets.",
    });
    const attributes = prompt.tracingAttributes();
    assert.equal(attributes["promptrelease.tools"], "lookup_order");
    assert.equal(attributes["promptrelease.response_format"], "summary");
    assert.throws(() => prompt.render({ ticket: "t", count: "5" }), (error: unknown) => error instanceof RenderError && error.kind === "variables" && /count must be integer, not string/.test(error.message));
  });
});

describe("MountedPrompt", () => {
  it("tags with the exact version and hash, counts select() and exposes metrics", () => {
    const root = mkdtempSync(join(tmpdir(), "prompt-sdk-"));
    layOut(root, 0, payload("canary").files);
    const prompt = new MountedPrompt(root, { logger: quiet });
    const attributes = prompt.tracingAttributes();
    assert.equal(attributes["gen_ai.prompt.name"], "kit-reload");
    assert.equal(attributes["gen_ai.prompt.version"], "kit-reload-v2");
    assert.equal(attributes["promptrelease.hash"], prompt.hash);
    assert.equal(attributes["promptrelease.revision"], 2);
    const chosen = Array.from({ length: 1000 }, (_, n) => prompt.select(`user-${n}`, { plan: "enterprise", region: "us" }));
    const canary = chosen.filter((p) => p.variant === "canary");
    assert.ok(canary.length > 400 && canary.length < 600, String(canary.length));
    assert.equal(canary[0]?.tracingAttributes()["promptrelease.variant"], "canary");
    assert.equal(prompt.select("user-1", {}).variant, "stable"); // region absent: NotIn gives 0
    const text = metricsText(prompt);
    assert.match(text, /promptrelease_prompt_info\{prompt="kit-reload",label="production",version="kit-reload-v2",hash="sha256:[0-9a-f]{64}",revision="2"\} 1/);
    assert.match(text, new RegExp(`promptrelease_prompt_selections_total\\{prompt="kit-reload",label="production",variant="canary",version="kit-reload-v3",hash="sha256:[0-9a-f]{64}"\\} ${canary.length}`));
    assert.deepEqual(info(prompt).prompts[0]?.version, "kit-reload-v2");
    assert.equal(prompt.render({ customer: "Ada", ticket: "t" }), "v2: Answer Ada about: t");
  });

  it("records outcomes per variant, version and hash, bounded, and exposes them", async () => {
    const root = mkdtempSync(join(tmpdir(), "prompt-sdk-"));
    layOut(root, 0, payload("canary").files);
    const prompt = new MountedPrompt(root, { logger: quiet });
    const stable = prompt.current;
    const candidate = prompt.candidate;
    assert.ok(candidate !== null);
    prompt.record(stable, { latency: 0.3 });
    prompt.record(candidate, { success: false, latency: 1.5, inputTokens: 120, outputTokens: 40 });
    await prompt.track(candidate, (call) => {
      call.tokens(10, 5);
      call.cost(0.5);
    });
    await assert.rejects(
      prompt.track(candidate, async () => {
        throw new Error("the model timed out");
      }),
      /timed out/,
    );
    prompt.feedback(candidate, 0.25);
    const text = metricsText(prompt);
    const base = (variant: string, version: string, hash: string) =>
      `prompt="kit-reload",label="production",variant="${variant}",version="${version}",hash="${hash}"`;
    const c = base("canary", candidate.version, candidate.hash);
    assert.ok(text.includes(`promptrelease_responses_total{${base("stable", stable.version, stable.hash)},outcome="success"} 1`), text);
    assert.ok(text.includes(`promptrelease_responses_total{${c},outcome="error"} 2`), text);
    assert.ok(text.includes(`promptrelease_responses_total{${c},outcome="success"} 1`), text);
    assert.ok(text.includes(`promptrelease_tokens_total{${c},type="input"} 130`), text);
    assert.ok(text.includes(`promptrelease_response_duration_seconds_bucket{${c},le="+Inf"} 3`), text);
    assert.ok(text.includes(`promptrelease_feedback_score_count{${c}} 1`), text);
    assert.ok(text.includes("# TYPE promptrelease_response_duration_seconds histogram"), text);
    assert.throws(() => prompt.record(stable, { latency: -1 }), /latency must be a finite number >= 0/);
    assert.throws(() => prompt.record(stable, { inputTokens: 1.5 }), /inputTokens must be a whole number/);
    assert.throws(() => prompt.feedback(stable, Number.NaN), /feedback must be a finite number/);
    const outcomes = new Outcomes(2);
    for (const version of ["v1", "v2", "v3"]) {
      outcomes.record({ name: "p", label: "l", version, hash: `h-${version}`, variant: "canary" });
    }
    assert.deepEqual(outcomes.snapshot().map((t) => t.version), ["v2", "v3"]);
    assert.equal(outcomes.evicted, 1);
  });

  it("refuses to start without a prompt.json", () => {
    const root = mkdtempSync(join(tmpdir(), "prompt-sdk-"));
    assert.throws(() => new MountedPrompt(root), /cannot read/);
  });
});

describe("mustache safety", () => {
  it("reaches no property of a language object", () => {
    const out = renderMustache("[{{t.length}}][{{l.length}}][{{o.constructor}}][{{o.toString}}]", {
      t: "abc",
      l: [1, 2],
      o: { a: 1 },
    });
    assert.equal(out, "[][][][]");
  });

  it("refuses lambdas and class instances as values", () => {
    assert.throws(() => renderMustache("{{#f}}x{{/f}}", { f: () => "boom" }), RenderError);
    assert.throws(() => renderMustache("{{d}}", { d: new Date() }), RenderError);
  });

  it("never reads a partial", () => {
    assert.throws(() => renderMustache("{{> /etc/passwd}}", {}), RenderError);
  });

  it("verify: false still refuses an unsafe template", () => {
    const text = payload("unsafe-partial").files["prompt.json"];
    assert.throws(() => parsePayload(text.replace('"hash": "sha256:', '"hash": "sha256:0'), { verify: false }), /partial/);
  });
});
