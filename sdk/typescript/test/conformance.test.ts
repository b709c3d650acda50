/** The conformance kit, run by the TypeScript SDK: every case must pass, as in Python and Go. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  MountedPrompt,
  PayloadError,
  PromptError,
  canonicalJson,
  consumerAnnotations,
  contentHash,
  isPortable,
  metricsText,
  parseCanary,
  parsePayload,
  responseFormatHash,
  withoutNullMembers,
} from "../src/index.js";
import { type Case, cases, layOut } from "./kit.js";

const sha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");
const quiet = { warn: () => undefined, info: () => undefined };

describe("hashes.json", () => {
  for (const c of cases("hashes.json")) {
    it(c.name, () => {
      const canonical = canonicalJson(withoutNullMembers(c.spec));
      if ("canonical" in c) assert.equal(canonical, c.canonical);
      else assert.equal(sha256(canonical), c.canonicalSha256);
      assert.equal(contentHash(c.spec), c.hash);
    });
  }
});

function expectedPayload(files: Record<string, string>): Record<string, unknown> {
  let prompt;
  try {
    prompt = parsePayload(files["prompt.json"] ?? "");
  } catch (error) {
    assert.ok(error instanceof PayloadError, String(error));
    return { error: error.kind };
  }
  const found: Record<string, unknown> = {
    prompt: prompt.name,
    label: prompt.label,
    version: prompt.version,
    hash: prompt.hash,
    revision: prompt.revision,
    templateFormat: prompt.templateFormat,
    portable: isPortable(prompt.templateFormat),
    variables: [...prompt.variables],
    canary: null,
  };
  if (prompt.payload.format === 2 || prompt.tools.length > 0 || prompt.responseFormat !== null) {
    found.contract = {
      inputs: prompt.inputs.map((v) => ({ name: v.name, type: v.type ?? "", required: v.required })),
      tools: prompt.tools.map((tool) => String((tool.function as Record<string, unknown>).name)),
      responseFormat: prompt.responseFormat?.name ?? null,
    };
  }
  if (files["canary.json"] !== undefined) {
    try {
      const canary = parseCanary(files["canary.json"]);
      found.canary = { version: canary.prompt.version, hash: canary.prompt.hash, weight: canary.weight };
    } catch (error) {
      assert.ok(error instanceof PayloadError, String(error));
      found.canaryError = error.kind;
    }
  }
  return found;
}

describe("payloads.json", () => {
  for (const c of cases("payloads.json")) {
    it(c.name, () => assert.deepEqual(expectedPayload(c.files), c.expect));
  }
});

describe("renders.json", () => {
  const payloads = new Map<string, Case>(cases("payloads.json").map((c: Case) => [c.name, c]));
  for (const c of cases("renders.json")) {
    it(c.name, () => {
      const prompt = parsePayload(payloads.get(c.payload).files["prompt.json"]);
      let found: Record<string, unknown>;
      try {
        if (prompt.isChat) {
          found = { messages: prompt.renderMessages(c.variables) };
        } else {
          const output = prompt.render(c.variables);
          found =
            "output" in c.expect
              ? { output }
              : { outputSha256: sha256(output), outputLength: Buffer.byteLength(output, "utf8") };
        }
      } catch (error) {
        assert.ok(error instanceof PromptError, String(error));
        found = { error: error.kind };
      }
      const expect = c.pythonOnly ? { error: "not-portable" } : c.expect;
      assert.deepEqual(found, expect);
    });
  }
});

describe("assignments.json", () => {
  for (const c of cases("assignments.json")) {
    it(c.name, () => {
      const split = parseCanary(c.canary).split;
      let chosen = "";
      for (let n = 0; n < c.keys.count; n++) chosen += split.servesCandidate(`${c.keys.prefix}${n}`, c.attributes) ? "1" : "0";
      assert.equal(split.weightFor(c.attributes), c.expect.weight);
      assert.equal(chosen, c.expect.assignment);
      assert.equal([...chosen].filter((x) => x === "1").length, c.expect.candidates);
    });
  }
});

describe("reloads.json", () => {
  for (const c of cases("reloads.json")) {
    it(c.name, () => {
      const root = mkdtempSync(join(tmpdir(), "prompt-kit-"));
      let mounted: MountedPrompt | null = null;
      c.steps.forEach((step: Case, n: number) => {
        layOut(root, n, step.files);
        mounted ??= new MountedPrompt(root, { checkInterval: 0, logger: quiet });
        const served = mounted.current;
        const found = { version: served.version, hash: served.hash, canary: mounted.candidate?.version ?? null };
        assert.deepEqual(found, step.expect, step.name);
      });
    });
  }

  it("a tampered payload is refused at start", () => {
    const root = mkdtempSync(join(tmpdir(), "prompt-kit-"));
    const tampered = cases("payloads.json").find((c: Case) => c.name === "tampered-template");
    layOut(root, 0, tampered.files);
    assert.throws(() => new MountedPrompt(root), (error: unknown) => error instanceof PayloadError && error.kind === "hash");
  });
});

describe("consumers.json", () => {
  const payloads = new Map<string, Case>(cases("payloads.json").map((c: Case) => [c.name, c]));
  for (const c of cases("consumers.json")) {
    it(c.name, () => {
      if ("responseFormat" in c) {
        assert.equal(responseFormatHash(c.responseFormat), c.expect.hash);
        return;
      }
      const prompt = parsePayload(payloads.get(c.payload).files["prompt.json"]);
      assert.deepEqual(consumerAnnotations(prompt, c.supplies), c.expect.annotations);
    });
  }
});

type Sample = { name: string; labels: Record<string, string>; value: number };

/** The samples of a Prometheus text exposition whose family is one of `families`. */
function samplesOf(text: string, families: string[]): Sample[] {
  const found: Sample[] = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    const name = match?.[1];
    if (!match || !name || !families.some((family) => name === family || name.startsWith(`${family}_`))) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (key !== undefined && value !== undefined) labels[key] = value;
    }
    found.push({ name, labels, value: Number(match[3]) });
  }
  return found;
}

describe("outcomes.json", () => {
  const payloads = new Map<string, Case>(cases("payloads.json").map((c: Case) => [c.name, c]));
  const families = [
    "promptrelease_responses",
    "promptrelease_response_duration_seconds",
    "promptrelease_tokens",
    "promptrelease_cost",
    "promptrelease_feedback_score",
  ];
  for (const c of cases("outcomes.json")) {
    it(c.name, () => {
      const root = mkdtempSync(join(tmpdir(), "prompt-kit-"));
      layOut(root, 0, { "prompt.json": payloads.get(c.payload).files["prompt.json"] });
      const mounted = new MountedPrompt(root, { checkInterval: 0, logger: quiet });
      const chosen = mounted.current;
      for (const step of c.steps) {
        if ("feedback" in step) mounted.feedback(chosen, step.feedback);
        else mounted.record(chosen, step.record);
      }
      const found = samplesOf(metricsText(mounted), families);
      const expected = c.expect.samples as Sample[];
      assert.deepEqual(
        found.map((s) => [s.name, s.labels]),
        expected.map((s) => [s.name, s.labels]),
      );
      found.forEach((s, n) => assert.ok(Math.abs(s.value - (expected[n]?.value ?? NaN)) < 1e-9, `${s.name}: ${s.value}`));
    });
  }
});
