/**
 * What a process serves, for people and Prometheus: the same `promptrelease_prompt_info` gauge
 * and `promptrelease_prompt_selections_total` counter as the Python SDK, and a JSON document.
 */
import { type Server, createServer } from "node:http";
import type { Selection } from "./mounted.js";
import { type Outcomes, exposition, families } from "./outcomes.js";

export const METRIC = "promptrelease_prompt_info";
export const SELECTIONS = "promptrelease_prompt_selections_total";

/** A Prompt or a MountedPrompt: anything that says what it serves. */
export interface Served {
  readonly name: string;
  readonly label: string;
  readonly version: string;
  readonly hash: string;
  readonly revision: number;
  selections?: () => Selection[];
  readonly outcomes?: Outcomes;
}

export interface Info {
  prompts: { prompt: string; label: string; version: string; hash: string; revision: number }[];
}

/** Every prompt this process serves, with its exact version and hash. */
export function info(...prompts: Served[]): Info {
  return {
    prompts: prompts.map((p) => ({ prompt: p.name, label: p.label, version: p.version, hash: p.hash, revision: p.revision })),
  };
}

function escape(value: unknown): string {
  return String(value).replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function labels(entry: Record<string, unknown>): string {
  return Object.entries(entry)
    .map(([key, value]) => `${key}="${escape(value)}"`)
    .join(",");
}

/** Prometheus text exposition: one info sample per prompt, select()'s counts, and the
 * outcomes recorded with record(), track() and feedback(). */
export function metricsText(...prompts: Served[]): string {
  const lines = [`# HELP ${METRIC} The prompt this process serves now (always 1).`, `# TYPE ${METRIC} gauge`];
  for (const entry of info(...prompts).prompts) lines.push(`${METRIC}{${labels(entry)}} 1`);
  const counted = prompts.map((prompt) => [prompt, prompt.selections?.() ?? []] as const);
  if (counted.some(([, found]) => found.length)) {
    lines.push(`# HELP ${SELECTIONS} Requests select() gave each variant (stable or canary).`, `# TYPE ${SELECTIONS} counter`);
    for (const [prompt, found] of counted) {
      const sorted = [...found].sort((a, b) =>
        `${a.variant}\u0000${a.version}\u0000${a.hash}` < `${b.variant}\u0000${b.version}\u0000${b.hash}` ? -1 : 1,
      );
      for (const s of sorted) {
        const entry = { prompt: prompt.name, label: prompt.label, variant: s.variant, version: s.version, hash: s.hash };
        lines.push(`${SELECTIONS}{${labels(entry)}} ${s.count}`);
      }
    }
  }
  const samples = prompts.flatMap((prompt) =>
    prompt.outcomes ? exposition(prompt.name, prompt.label, prompt.outcomes, escape) : [],
  );
  lines.push(...families(samples));
  return lines.join("\n") + "\n";
}

/** Serve GET /metrics and GET /prompts; returns the listening server (call close()). */
export function serveInfo(port: number, ...prompts: Served[]): Server {
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      response.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" }).end(metricsText(...prompts));
    } else if (path === "/prompts" || path === "/prompts/") {
      response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(info(...prompts)));
    } else {
      response.writeHead(404).end("try /metrics or /prompts\n");
    }
  });
  server.listen(port);
  return server;
}
