// Reads a YAML file with the viewer's reader and compares the result with the
// JSON on standard input (PyYAML's reading of the same file), so the /docs
// viewer shows what the document says; then renders every operation as the
// page would; and holds the document to the error rules: every error
// response names its codes ("CODE, CODE: why"), each a code of that status in
// the README's table or the adapter's own, and every operation declares the
// statuses that any route of its kind can answer. Used by scripts/test:
//   python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)' openapi.yaml \
//     | node docs/openapi-viewer/check.mjs openapi.yaml
import { readFileSync } from "node:fs";
import { parseYAML } from "./yaml.mjs";
import { anchor, documentHTML, operations, resolve } from "./viewer.mjs";

const file = process.argv[2];
const ours = parseYAML(readFileSync(file, "utf8"));
const theirs = JSON.parse(readFileSync(0, "utf8"));

function differ(a, b, path) {
  if (Array.isArray(a) !== Array.isArray(b) || typeof a !== typeof b || (a === null) !== (b === null)) return path;
  if (a === null || typeof a !== "object") return a === b ? null : path;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    if (!(key in a) || !(key in b)) return `${path}/${key}`;
    const found = differ(a[key], b[key], `${path}/${key}`);
    if (found) return found;
  }
  return null;
}

const where = differ(ours, theirs, "");
if (where !== null) {
  const at = (value) => where.split("/").slice(1).reduce((v, k) => (v == null ? v : v[k]), value);
  console.error(`${file}: the viewer reads ${where || "the document"} as ${JSON.stringify(at(ours))}, PyYAML as ${JSON.stringify(at(theirs))}`);
  process.exit(1);
}
const { nav, main } = documentHTML(ours);
const list = operations(ours);
for (const entry of list) {
  if (!main.includes(`id="${anchor(entry)}"`) || !nav.includes(`href="#${anchor(entry)}"`)) {
    console.error(`${file}: the viewer does not show ${entry.method.toUpperCase()} ${entry.path}`);
    process.exit(1);
  }
}

// The codes and their statuses: the README's table, and the adapter's own.
const statusOf = { BAD_REQUEST: "400", NOT_FOUND: "404", METHOD_NOT_ALLOWED: "405", PAYLOAD_TOO_LARGE: "413", UNAVAILABLE: "503", INTERNAL: "500" };
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
for (const row of readme.matchAll(/^\| CR[0-9A-Z]{3} \| ([A-Z_]+) \| ([0-9]{3}) \|$/gm)) statusOf[row[1]] = row[2];

const problems = [];
for (const entry of list) {
  const name = `${entry.method.toUpperCase()} ${entry.path}`;
  const responses = entry.op.responses ?? {};
  for (const [status, response] of Object.entries(responses)) {
    if (status.startsWith("2")) continue;
    const description = resolve(ours, response).description ?? "";
    const codes = /^([A-Z_]+(?:, [A-Z_]+)*):/.exec(description);
    if (!codes) { problems.push(`${name} ${status}: the description does not start with its codes ("CODE, CODE: why")`); continue; }
    for (const code of codes[1].split(", ")) {
      if (statusOf[code] !== status) problems.push(`${name} ${status}: ${code} is ${statusOf[code] ? "a " + statusOf[code] : "not a known code"}`);
    }
  }
  const parameters = [...entry.shared, ...(entry.op.parameters ?? [])].map((p) => resolve(ours, p));
  const needs = [];
  if (entry.path.startsWith("/api/")) needs.push("503");
  // a queue token can be dead (410); a user's API key (joins) cannot
  const schemes = (entry.op.security ?? []).flatMap((requirement) => Object.keys(requirement));
  if (schemes.length) needs.push("401");
  if (schemes.includes("queueToken")) needs.push("410");
  if (entry.op.requestBody) needs.push("400", "413");
  if (parameters.some((p) => p.in === "path" || p.in === "query")) needs.push("400");
  for (const status of needs) if (!(status in responses)) problems.push(`${name} does not declare ${status}`);
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`${file}: the viewer reads it as PyYAML does and shows its ${list.length} operations; every error response names its codes`);
