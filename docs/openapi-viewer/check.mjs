// Reads a YAML file with the viewer's reader and compares the result with the
// JSON on standard input (PyYAML's reading of the same file), so the /docs
// viewer shows what the document says; then renders every operation as the
// page would. Used by scripts/test:
//   python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)' openapi.yaml \
//     | node docs/openapi-viewer/check.mjs openapi.yaml
import { readFileSync } from "node:fs";
import { parseYAML } from "./yaml.mjs";
import { anchor, documentHTML, operations } from "./viewer.mjs";

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
console.log(`${file}: the viewer reads it as PyYAML does and shows its ${list.length} operations`);
