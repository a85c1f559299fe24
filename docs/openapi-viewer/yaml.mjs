// A reader for the YAML that openapi.yaml is written in, so the /docs viewer
// needs nothing from outside the repository: block mappings and sequences,
// flow mappings and sequences ({a: b}, [a, b]), plain, single- and
// double-quoted scalars, literal and folded block scalars (| and >), and
// comments. Scalars follow YAML 1.2's core schema (true, false, null, ~,
// integers, floats); anchors, tags and multi-document files are refused.
// scripts/test checks that it reads openapi.yaml exactly as PyYAML does.

export function parseYAML(text) {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let index = 0;

  function fail(message, line = index) {
    throw new Error(`openapi.yaml line ${line + 1}: ${message}`);
  }
  function indentOf(line) {
    return line.length - line.trimStart().length;
  }
  function blank(line) {
    const trimmed = line.trim();
    return trimmed === "" || trimmed.startsWith("#");
  }
  function skipBlank() {
    while (index < lines.length && blank(lines[index])) index++;
  }

  // A value that starts on the rest of a line (after "key:" or "- ").
  function inlineValue(rest, indent) {
    rest = stripComment(rest).trim();
    if (rest === "") {
      index++;
      skipBlank();
      if (index >= lines.length) return null;
      const next = lines[index];
      const nextIndent = indentOf(next);
      if (nextIndent > indent || (nextIndent === indent && next.trimStart().startsWith("- "))) return block(nextIndent);
      return null;
    }
    if (rest === "|" || rest === "|-" || rest === "|+" || rest === ">" || rest === ">-" || rest === ">+") {
      index++;
      return blockScalar(rest, indent);
    }
    if (rest.startsWith("&") || rest.startsWith("*") || rest.startsWith("!")) fail("anchors, aliases and tags are not supported");
    const reader = new FlowReader(rest, index);
    const value = reader.value(false);
    reader.end();
    index++;
    return value;
  }

  function blockScalar(style, indent) {
    const body = [];
    let width = null;
    while (index < lines.length) {
      const line = lines[index];
      if (line.trim() === "") { body.push(""); index++; continue; }
      const lineIndent = indentOf(line);
      if (lineIndent <= indent) break;
      if (width === null) width = lineIndent;
      if (lineIndent < width) break;
      body.push(line.slice(width));
      index++;
    }
    let trailing = 0;
    while (body.length && body[body.length - 1] === "") { body.pop(); trailing++; }
    let text;
    if (style[0] === "|") {
      text = body.join("\n");
    } else {
      text = "";
      body.forEach((line, i) => {
        const previous = body[i - 1];
        if (i === 0) text = line;
        else if (line === "") text += "\n";
        else if (previous === "") text += line;
        else if (line.startsWith(" ") || previous.startsWith(" ")) text += "\n" + line;
        else text += " " + line;
      });
    }
    if (style.endsWith("-")) return text;
    if (style.endsWith("+")) return text + "\n".repeat(trailing + 1);
    return body.length ? text + "\n" : "";
  }

  // A block node whose lines are indented by `indent`.
  function block(indent) {
    skipBlank();
    const first = lines[index].slice(indent);
    if (first.startsWith("- ") || first === "-") return sequence(indent);
    return mapping(indent);
  }

  function sequence(indent) {
    const items = [];
    while (index < lines.length) {
      skipBlank();
      if (index >= lines.length) break;
      const line = lines[index];
      if (indentOf(line) !== indent || !(line.slice(indent).startsWith("- ") || line.slice(indent) === "-")) break;
      const rest = line.slice(indent + 1);
      const restTrimmed = rest.trimStart();
      const itemIndent = indent + 1 + (rest.length - restTrimmed.length);
      if (keyAt(restTrimmed) !== null) {
        // "- key: value" starts a mapping indented at the key.
        lines[index] = " ".repeat(itemIndent) + restTrimmed;
        items.push(mapping(itemIndent));
      } else {
        items.push(inlineValue(rest, indent));
      }
    }
    return items;
  }

  function mapping(indent) {
    const map = {};
    while (index < lines.length) {
      skipBlank();
      if (index >= lines.length) break;
      const line = lines[index];
      const lineIndent = indentOf(line);
      if (lineIndent < indent) break;
      if (lineIndent > indent) fail("unexpected indentation");
      const content = line.slice(indent);
      if (content.startsWith("- ")) break;
      const key = keyAt(content);
      if (key === null) fail(`expected "key: value", found ${JSON.stringify(content)}`);
      if (Object.prototype.hasOwnProperty.call(map, key.key)) fail(`key ${key.key} given twice`);
      map[key.key] = inlineValue(content.slice(key.length), indent);
    }
    return map;
  }

  // The key at the start of `text` ("key:" followed by a blank or the end),
  // with the length it takes up; null when the text is not a mapping entry.
  function keyAt(text) {
    if (text.startsWith('"') || text.startsWith("'")) {
      const reader = new FlowReader(text, index);
      const key = reader.quoted();
      if (text[reader.at] === ":" && (reader.at + 1 === text.length || text[reader.at + 1] === " ")) {
        return { key, length: reader.at + 1 };
      }
      return null;
    }
    if (text.startsWith("{") || text.startsWith("[") || text.startsWith("#")) return null;
    const match = /^([^\s#][^#]*?):(?: |$)/.exec(text);
    if (!match) return null;
    return { key: match[1].trim(), length: match[0].length };
  }

  function stripComment(text) {
    let quote = null;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quote) {
        if (c === "\\" && quote === '"') i++;
        else if (c === quote) quote = null;
      } else if ((c === '"' || c === "'") && (i === 0 || /[\s\[{,:]/.test(text[i - 1]))) {
        quote = c;
      } else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
        return text.slice(0, i);
      }
    }
    return text;
  }

  skipBlank();
  if (index >= lines.length) return null;
  if (lines[index].startsWith("---") || lines[index].startsWith("%")) fail("directives and document markers are not supported");
  const result = block(indentOf(lines[index]));
  skipBlank();
  if (index < lines.length) fail("unexpected content");
  return result;
}

// Flow syntax on one line: {a: b, c: [d, e]}, quoted and plain scalars.
class FlowReader {
  constructor(text, line) {
    this.text = text;
    this.at = 0;
    this.line = line;
  }

  fail(message) {
    throw new Error(`openapi.yaml line ${this.line + 1}: ${message} at column ${this.at + 1}`);
  }

  space() {
    while (this.at < this.text.length && this.text[this.at] === " ") this.at++;
  }

  end() {
    this.space();
    if (this.at < this.text.length) this.fail("unexpected text after the value");
  }

  value(inFlow) {
    this.space();
    const c = this.text[this.at];
    if (c === "{") return this.flowMapping();
    if (c === "[") return this.flowSequence();
    if (c === '"' || c === "'") return this.quoted();
    return resolvePlain(this.plain(inFlow));
  }

  plain(inFlow) {
    const start = this.at;
    while (this.at < this.text.length) {
      const c = this.text[this.at];
      const next = this.text[this.at + 1];
      if (inFlow && (c === "," || c === "}" || c === "]")) break;
      if (c === ":" && (next === undefined || next === " " || (inFlow && (next === "," || next === "}" || next === "]")))) break;
      this.at++;
    }
    const text = this.text.slice(start, this.at).trim();
    if (text === "" && inFlow) this.fail("expected a value");
    return text;
  }

  quoted() {
    const quote = this.text[this.at++];
    let out = "";
    while (true) {
      if (this.at >= this.text.length) this.fail("unterminated string");
      const c = this.text[this.at++];
      if (quote === "'") {
        if (c === "'") {
          if (this.text[this.at] === "'") { out += "'"; this.at++; continue; }
          return out;
        }
        out += c;
        continue;
      }
      if (c === '"') return out;
      if (c !== "\\") { out += c; continue; }
      const e = this.text[this.at++];
      const simple = { n: "\n", t: "\t", r: "\r", "0": "\0", '"': '"', "\\": "\\", "/": "/", " ": " ", b: "\b", f: "\f", e: "\x1b", a: "\x07", v: "\v" };
      if (e in simple) { out += simple[e]; continue; }
      const digits = { x: 2, u: 4, U: 8 }[e];
      if (!digits) this.fail(`unknown escape \\${e}`);
      const hex = this.text.slice(this.at, this.at + digits);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== digits) this.fail("bad escape");
      out += String.fromCodePoint(parseInt(hex, 16));
      this.at += digits;
    }
  }

  flowMapping() {
    this.at++;
    const map = {};
    this.space();
    if (this.text[this.at] === "}") { this.at++; return map; }
    while (true) {
      this.space();
      const c = this.text[this.at];
      const key = c === '"' || c === "'" ? this.quoted() : this.plain(true);
      this.space();
      let value = null;
      if (this.text[this.at] === ":") {
        this.at++;
        this.space();
        const n = this.text[this.at];
        value = n === "," || n === "}" ? null : this.value(true);
      }
      map[key] = value;
      this.space();
      const sep = this.text[this.at++];
      if (sep === "}") return map;
      if (sep !== ",") this.fail("expected , or }");
    }
  }

  flowSequence() {
    this.at++;
    const items = [];
    this.space();
    if (this.text[this.at] === "]") { this.at++; return items; }
    while (true) {
      items.push(this.value(true));
      this.space();
      const sep = this.text[this.at++];
      if (sep === "]") return items;
      if (sep !== ",") this.fail("expected , or ]");
    }
  }
}

function resolvePlain(text) {
  if (text === "" || text === "~" || text === "null" || text === "Null" || text === "NULL") return null;
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?[0-9]+$/.test(text)) return Number(text);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  return text;
}
