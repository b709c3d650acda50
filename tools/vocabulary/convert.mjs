// Writes o200k_base's ranks as tiktoken's own file format (a base64 token and its rank per
// line), gzipped, into the Python package, and refuses to unless the file has the SHA-256
// that tiktoken pins for it (tiktoken_ext/openai_public.py).
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import ranks from "js-tiktoken/ranks/o200k_base";

const SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d";
const TARGET = new URL("../../operator/prompt_release/core/vocabulary/o200k_base.tiktoken.gz", import.meta.url);

const lines = [];
for (const line of ranks.bpe_ranks.split("\n")) {
  if (!line) continue;
  const [, offset, ...tokens] = line.split(" ");
  tokens.forEach((token, index) => lines.push(`${token} ${Number.parseInt(offset, 10) + index}\n`));
}
const contents = Buffer.from(lines.join(""));
const digest = createHash("sha256").update(contents).digest("hex");
if (digest !== SHA256) {
  console.error(`o200k_base from js-tiktoken has SHA-256 ${digest}, not ${SHA256}: not written`);
  process.exit(1);
}
writeFileSync(TARGET, gzipSync(contents, { level: 9 }));
console.log(`o200k_base: ${lines.length} ranks, SHA-256 ${digest}, written to ${TARGET.pathname}`);
