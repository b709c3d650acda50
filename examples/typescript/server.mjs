// A workload that serves a mounted prompt: each response carries the version and hash that
// produced it. The prompt hot-reloads when the kubelet swaps the ConfigMap.
//
//   PROMPT_DIR=/etc/prompts/ticket-summarizer PORT=8080 node server.mjs
//   curl -s localhost:8080/render -d '{"variables": {"ticket": "Printer on fire"}}'
//   curl -s localhost:8080/render -d '{"key": "user-42", "variables": {...}}'   # canary: sticky per key
//   curl -s localhost:8080/metrics
import { createServer } from "node:http";
import { MountedPrompt, PromptError, info, metricsText } from "@prompt-release/sdk";

const directory = process.env.PROMPT_DIR ?? "/etc/prompts/ticket-summarizer";
let prompt;
try {
  prompt = new MountedPrompt(directory, { checkInterval: Number(process.env.CHECK_INTERVAL ?? 1) });
} catch (error) {
  console.error(`cannot serve ${directory}: ${error.message}`);
  process.exit(1);
}

async function body(request) {
  let text = "";
  for await (const chunk of request) text += chunk;
  return text ? JSON.parse(text) : {};
}

function reply(response, status, value) {
  response.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(value) + "\n");
}

const server = createServer(async (request, response) => {
  const path = (request.url ?? "/").split("?")[0];
  try {
    if (path === "/render" && request.method === "POST") {
      const { key, attributes, variables } = await body(request);
      // one snapshot for this request: rendered and tagged with the same version
      const chosen = key === undefined ? prompt.current : prompt.select(key, attributes ?? {});
      const output = chosen.isChat ? { messages: chosen.renderMessages(variables ?? {}) } : { output: chosen.render(variables ?? {}) };
      const attributesOut = chosen.tracingAttributes();
      console.log(JSON.stringify({ msg: "rendered", ...attributesOut }));
      reply(response, 200, { ...output, attributes: attributesOut });
    } else if (path === "/select" && request.method === "POST") {
      const { keys, attributes } = await body(request);
      const canary = keys.filter((key) => prompt.select(key, attributes ?? {}).variant === "canary");
      reply(response, 200, { canary });
    } else if (path === "/metrics") {
      response.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" }).end(metricsText(prompt));
    } else if (path === "/prompts") {
      reply(response, 200, info(prompt));
    } else {
      reply(response, 404, { error: "try POST /render, POST /select, GET /metrics or GET /prompts" });
    }
  } catch (error) {
    if (!(error instanceof PromptError) && !(error instanceof SyntaxError)) throw error;
    reply(response, 400, { error: error.message, kind: error.kind ?? "malformed" });
  }
});

server.listen(Number(process.env.PORT ?? 8080), "127.0.0.1", () => {
  console.log(`listening on ${server.address().port}: ${prompt.name} ${prompt.version} (${prompt.hash})`);
});
