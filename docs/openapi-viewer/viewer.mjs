// The /docs page: reads /openapi.yaml with the reader beside it and shows
// every operation (parameters, body, responses, schemas) with a form that
// sends the request to this server. Rendering is done by pure functions
// that return HTML text, so scripts/test can render the whole document
// outside a browser (check.mjs).
import { parseYAML } from "./yaml.mjs";

const METHODS = ["get", "post", "put", "patch", "delete"];

export function escape(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// The little Markdown the document uses: `code`, **bold**, paragraphs.
export function prose(text) {
  return String(text ?? "")
    .trim()
    .split(/\n\s*\n/)
    .filter((p) => p.trim())
    .map((p) => "<p>" + escape(p).replace(/`([^`]+)`/g, "<code>$1</code>").replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>") + "</p>")
    .join("");
}

export function resolve(doc, node) {
  let seen = 0;
  while (node && typeof node === "object" && typeof node.$ref === "string") {
    if (++seen > 20) throw new Error(`$ref loop at ${node.$ref}`);
    if (!node.$ref.startsWith("#/")) throw new Error(`only local $ref is supported: ${node.$ref}`);
    node = node.$ref.slice(2).split("/").reduce((v, k) => v?.[k.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
    if (node === undefined) throw new Error("unresolved $ref");
  }
  return node;
}

function refName(node) {
  return node && typeof node.$ref === "string" ? node.$ref.split("/").pop() : null;
}

export function operations(doc) {
  const list = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      if (item[method]) list.push({ path, method, op: item[method], shared: item.parameters ?? [] });
    }
  }
  return list;
}

export function anchor(entry) {
  return "op-" + (entry.op.operationId ?? entry.method + entry.path.replace(/[^a-zA-Z0-9]+/g, "-"));
}

// A schema as a nested list: type, format, limits, enum, description.
export function schemaHTML(doc, schema, depth = 0) {
  const name = refName(schema);
  schema = resolve(doc, schema) ?? {};
  if (depth > 8) return `<span class="type">${escape(name ?? "…")}</span>`;
  const facts = [];
  if (schema.format) facts.push(schema.format);
  if (schema.nullable) facts.push("nullable");
  if (schema.minimum !== undefined || schema.maximum !== undefined) facts.push(`${schema.minimum ?? ""}..${schema.maximum ?? ""}`);
  if (schema.minLength !== undefined || schema.maxLength !== undefined) facts.push(`length ${schema.minLength ?? 0}..${schema.maxLength ?? ""}`);
  if (schema.pattern) facts.push(`pattern ${schema.pattern}`);
  if (schema.default !== undefined) facts.push(`default ${JSON.stringify(schema.default)}`);
  if (schema.enum) facts.push("one of " + schema.enum.map((v) => JSON.stringify(v)).join(", "));
  const type = (name ? name + " " : "") + (schema.type ?? (schema.properties ? "object" : ""));
  let html = `<span class="type">${escape(type.trim())}</span>`;
  if (facts.length) html += ` <span class="note">${escape(facts.join("; "))}</span>`;
  if (schema.description) html += ` <span class="note">${escape(schema.description)}</span>`;
  if (schema.type === "array" && schema.items) html += `<ul class="schema"><li>items: ${schemaHTML(doc, schema.items, depth + 1)}</li></ul>`;
  if (schema.properties) {
    const required = new Set(schema.required ?? []);
    html += '<ul class="schema">' + Object.entries(schema.properties)
      .map(([key, value]) => `<li><span class="prop">${escape(key)}</span>${required.has(key) ? ' <span class="req">required</span>' : ""}: ${schemaHTML(doc, value, depth + 1)}</li>`)
      .join("") + "</ul>";
  }
  return html;
}

// An example value for a schema, for the request body the form starts with.
export function example(doc, schema, depth = 0) {
  schema = resolve(doc, schema) ?? {};
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  if (schema.enum) return schema.enum[0];
  if (depth > 6) return null;
  switch (schema.type ?? (schema.properties ? "object" : "")) {
    case "object": {
      const out = {};
      const required = new Set(schema.required ?? []);
      for (const [key, value] of Object.entries(schema.properties ?? {})) {
        if (required.has(key) || !resolve(doc, value)?.nullable) out[key] = example(doc, value, depth + 1);
      }
      return out;
    }
    case "array": return [example(doc, schema.items ?? {}, depth + 1)];
    case "integer": case "number": return schema.minimum ?? 1;
    case "boolean": return false;
    case "string":
      return { date: "2026-12-24", "date-time": "2026-12-24T10:00:00Z", uuid: "00000000-0000-0000-0000-000000000000" }[schema.format] ?? "text";
    default: return null;
  }
}

function parametersHTML(doc, parameters) {
  if (!parameters.length) return "";
  const rows = parameters.map((p) => {
    p = resolve(doc, p);
    return `<tr><td><span class="prop">${escape(p.name)}</span>${p.required ? ' <span class="req">required</span>' : ""}</td><td>${escape(p.in)}</td><td>${schemaHTML(doc, p.schema ?? {})}${p.description ? `<div class="note">${escape(p.description)}</div>` : ""}</td></tr>`;
  });
  return `<h3>Parameters</h3><table><tr><th>name</th><th>in</th><th>schema</th></tr>${rows.join("")}</table>`;
}

function contentHTML(doc, content) {
  return Object.entries(content ?? {})
    .map(([type, media]) => `<div><code>${escape(type)}</code> ${media.schema ? schemaHTML(doc, media.schema) : ""}</div>`)
    .join("");
}

function responsesHTML(doc, responses) {
  const rows = Object.entries(responses ?? {}).map(([status, response]) => {
    const name = refName(response);
    response = resolve(doc, response);
    const headers = Object.entries(response.headers ?? {})
      .map(([header, h]) => `<div class="note">header <code>${escape(header)}</code>: ${escape(resolve(doc, h).description ?? "")}</div>`)
      .join("");
    const content = name === "Error" ? "" : contentHTML(doc, response.content);
    return `<tr><td class="status s${escape(status[0])}">${escape(status)}</td><td>${prose(response.description)}${headers}${content}</td></tr>`;
  });
  return `<h3>Responses</h3><table><tr><th>status</th><th>meaning</th></tr>${rows.join("")}</table>`;
}

function tryHTML(doc, entry) {
  const id = anchor(entry);
  const parameters = [...entry.shared, ...(entry.op.parameters ?? [])].map((p) => resolve(doc, p));
  const fields = parameters
    .filter((p) => p.in === "path" || p.in === "query" || p.in === "header")
    .map((p) => `<label>${escape(p.name)} <span class="note">(${escape(p.in)})</span><input data-in="${escape(p.in)}" data-name="${escape(p.name)}" value="${p.in === "path" ? "1" : ""}"></label>`)
    .join("");
  const media = entry.op.requestBody ? resolve(doc, entry.op.requestBody).content?.["application/json"] : null;
  const body = media ? `<label>body <textarea data-body>${escape(JSON.stringify(example(doc, media.schema ?? {}), null, 2))}</textarea></label>` : "";
  return `<form class="try" data-method="${entry.method}" data-path="${escape(entry.path)}" id="${id}-try">
    <strong>Try it</strong> <span class="note">sends the request to this server${entry.op.security?.length ? ", with the token above" : ""}</span>
    ${fields}${body}<button type="submit">Send</button> <button type="button" data-stop hidden>Stop</button>
    <pre data-out hidden></pre></form>`;
}

export function operationHTML(doc, entry) {
  const op = entry.op;
  const summary = op.summary ?? (op.description ?? "").split("\n")[0].replace(/`/g, "");
  const parameters = [...entry.shared, ...(op.parameters ?? [])];
  const body = op.requestBody ? resolve(doc, op.requestBody) : null;
  const security = (op.security ?? doc.security ?? []).flatMap((s) => Object.keys(s));
  return `<details class="operation" id="${anchor(entry)}">
    <summary><span class="method ${entry.method}">${entry.method}</span><span class="path">${escape(entry.path)}</span><span class="summary">${escape(summary)}</span></summary>
    <div class="body">
      ${prose(op.description)}
      ${security.length ? `<p class="note">Authorization: ${security.map((s) => escape(s)).join(", ")}</p>` : ""}
      ${parametersHTML(doc, parameters)}
      ${body ? `<h3>Request body${body.required ? ' <span class="req">required</span>' : ""}</h3>${contentHTML(doc, body.content)}` : ""}
      ${responsesHTML(doc, op.responses)}
      ${tryHTML(doc, entry)}
    </div></details>`;
}

export function documentHTML(doc) {
  const list = operations(doc);
  const tags = [...(doc.tags ?? []).map((t) => t.name), ...list.flatMap((e) => e.op.tags ?? [])];
  const order = [...new Set([...tags, "other"])];
  const byTag = (tag) => list.filter((e) => (e.op.tags?.[0] ?? "other") === tag);
  const nav = order
    .filter((tag) => byTag(tag).length)
    .map((tag) => `<h2>${escape(tag)}</h2>` + byTag(tag).map((e) => `<a href="#${anchor(e)}"><span class="method ${e.method}">${e.method}</span> ${escape(e.path)}</a>`).join(""))
    .join("");
  const main = `<div class="intro">${prose(doc.info?.description)}</div>` + order
    .filter((tag) => byTag(tag).length)
    .map((tag) => `<section><h2>${escape(tag)}</h2>${byTag(tag).map((e) => operationHTML(doc, e)).join("")}</section>`)
    .join("") + schemasHTML(doc);
  return { nav, main };
}

function schemasHTML(doc) {
  const schemas = Object.entries(doc.components?.schemas ?? {});
  if (!schemas.length) return "";
  return `<section><h2 id="schemas">schemas</h2>${schemas.map(([name, s]) => `<h3 id="schema-${escape(name)}">${escape(name)}</h3>${schemaHTML(doc, s)}`).join("")}</section>`;
}

// The "Try it" forms: build the URL and headers, send, show the answer (an
// event stream as it arrives, until Stop).
async function send(form) {
  const out = form.querySelector("[data-out]");
  const stop = form.querySelector("[data-stop]");
  out.hidden = false;
  let path = form.dataset.path;
  const query = new URLSearchParams();
  const headers = {};
  for (const input of form.querySelectorAll("input[data-in]")) {
    const { in: where, name } = input.dataset;
    if (where === "path") path = path.replace(`{${name}}`, encodeURIComponent(input.value));
    else if (input.value !== "" && where === "query") query.set(name, input.value);
    else if (input.value !== "" && where === "header") headers[name] = input.value;
  }
  const token = document.getElementById("token").value.trim();
  if (token) headers.Authorization = `Bearer ${token}`;
  const bodyField = form.querySelector("[data-body]");
  if (bodyField) headers["Content-Type"] = "application/json";
  const url = path + (query.toString() ? "?" + query : "");
  const controller = new AbortController();
  stop.onclick = () => controller.abort();
  out.textContent = `${form.dataset.method.toUpperCase()} ${url}\n…`;
  try {
    const response = await fetch(url, { method: form.dataset.method.toUpperCase(), headers, body: bodyField?.value, signal: controller.signal });
    let text = `${form.dataset.method.toUpperCase()} ${url}\nHTTP ${response.status} ${response.statusText}\n\n`;
    if ((response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      stop.hidden = false;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        out.textContent = text;
      }
    } else {
      const raw = await response.text();
      try { text += JSON.stringify(JSON.parse(raw), null, 2); } catch { text += raw; }
      out.textContent = text;
    }
  } catch (error) {
    out.textContent += `\n${error.name === "AbortError" ? "stopped" : error}`;
  } finally {
    stop.hidden = true;
  }
}

async function start() {
  const main = document.getElementById("main");
  try {
    const response = await fetch("/openapi.yaml");
    if (!response.ok) throw new Error(`GET /openapi.yaml answered ${response.status}`);
    const doc = parseYAML(await response.text());
    document.title = document.getElementById("title").textContent = `${doc.info?.title ?? "API"} ${doc.info?.version ?? ""}`.trim();
    const { nav, main: html } = documentHTML(doc);
    document.getElementById("nav").innerHTML = nav;
    main.innerHTML = html;
    main.addEventListener("submit", (event) => {
      event.preventDefault();
      send(event.target);
    });
    const opened = location.hash && document.getElementById(location.hash.slice(1));
    if (opened?.tagName === "DETAILS") opened.open = true;
    document.getElementById("nav").addEventListener("click", (event) => {
      const link = event.target.closest("a");
      const target = link && document.getElementById(link.getAttribute("href").slice(1));
      if (target?.tagName === "DETAILS") target.open = true;
    });
  } catch (error) {
    main.innerHTML = `<p class="error">${escape(error.message)}</p>`;
  }
}

if (typeof document !== "undefined") start();
