/** The conformance kit (`conformance/` at the repository's root) and the kubelet's layout. */
import { mkdirSync, readFileSync, renameSync, symlinkSync, lstatSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** dist/test -> sdk/typescript -> the repository. */
export const KIT = process.env.PROMPT_RELEASE_KIT ?? resolve(here, "..", "..", "..", "..", "conformance");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Case = any;

export function cases(file: string): Case[] {
  return JSON.parse(readFileSync(join(KIT, file), "utf8")).cases as Case[];
}

/** Write files as the kubelet lays out a ConfigMap volume: `..data` -> a timestamped folder. */
export function layOut(root: string, step: number, files: Record<string, string>): void {
  const stamp = `..2026_01_01_00_00_${String(step).padStart(2, "0")}.${process.pid}`;
  mkdirSync(join(root, stamp), { recursive: true });
  for (const [key, text] of Object.entries(files)) writeFileSync(join(root, stamp, key), text, "utf8");
  symlinkSync(stamp, join(root, "..data_tmp"));
  renameSync(join(root, "..data_tmp"), join(root, "..data"));
  for (const key of ["prompt.json", "canary.json"]) {
    let exists = true;
    try {
      lstatSync(join(root, key));
    } catch {
      exists = false;
    }
    if (!exists) symlinkSync(join("..data", key), join(root, key));
  }
}
