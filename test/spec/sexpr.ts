/**
 * Tokenizer and parser of WebAssembly script (.wast) s-expressions.
 *
 * Only the structure is parsed: lists, atoms (keywords, numbers, `$ids`, `offset=4`, ...) and
 * strings (decoded to bytes). Every node keeps its source span, so the text of a `(module ...)`
 * form can be handed to wabt verbatim, and its line for messages.
 *
 * Lexical rules (WebAssembly text format): whitespace is space, tab, LF, CR; `;;` starts a line
 * comment; `(;` ... `;)` is a block comment and nests; strings are `"..."` with the escapes
 * \t \n \r \" \' \\ \hh (one byte) and \u{hex} (a code point, UTF-8 encoded); any other character
 * of a string stands for its UTF-8 bytes.
 */

export interface Span {
  /** Offset of the first character (in the JS string). */
  start: number;
  /** Offset just after the last character. */
  end: number;
  /** 1-based line of the first character. */
  line: number;
}

export interface SList extends Span {
  type: "list";
  items: SExpr[];
}

export interface SAtom extends Span {
  type: "atom";
  value: string;
}

export interface SString extends Span {
  type: "string";
  bytes: Uint8Array;
}

export type SExpr = SList | SAtom | SString;

export class SExprError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${line}:${column}: ${reason}`);
    this.name = "SExprError";
  }
}

const utf8 = new TextEncoder();

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Parses a whole script (or any sequence of s-expressions). */
export function parseSExprs(text: string): SExpr[] {
  return new Parser(text).parseAll();
}

class Parser {
  private pos = 0;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly text: string) {}

  private error(reason: string, at = this.pos): never {
    // Recompute line/column of `at` (only on error, so a scan is fine).
    let line = 1;
    let ls = 0;
    for (let i = 0; i < at && i < this.text.length; i++) {
      if (this.text.charCodeAt(i) === 0x0a) {
        line++;
        ls = i + 1;
      }
    }
    throw new SExprError(reason, line, at - ls + 1);
  }

  private newline(at: number): void {
    this.line++;
    this.lineStart = at + 1;
  }

  /** Skips whitespace and comments. */
  private skip(): void {
    const t = this.text;
    const n = t.length;
    while (this.pos < n) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x0a) {
        this.newline(this.pos);
        this.pos++;
      } else if (isSpace(c)) {
        this.pos++;
      } else if (c === 0x3b /* ; */ && t.charCodeAt(this.pos + 1) === 0x3b) {
        const nl = t.indexOf("\n", this.pos);
        this.pos = nl < 0 ? n : nl; // the newline itself is handled by the loop
      } else if (c === 0x28 /* ( */ && t.charCodeAt(this.pos + 1) === 0x3b) {
        this.blockComment();
      } else {
        return;
      }
    }
  }

  private blockComment(): void {
    const t = this.text;
    const start = this.pos;
    let depth = 0;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x28 && t.charCodeAt(this.pos + 1) === 0x3b) {
        depth++;
        this.pos += 2;
      } else if (c === 0x3b && t.charCodeAt(this.pos + 1) === 0x29) {
        depth--;
        this.pos += 2;
        if (depth === 0) return;
      } else {
        if (c === 0x0a) this.newline(this.pos);
        this.pos++;
      }
    }
    this.error("unterminated block comment", start);
  }

  parseAll(): SExpr[] {
    const out: SExpr[] = [];
    for (;;) {
      this.skip();
      if (this.pos >= this.text.length) return out;
      if (this.text.charCodeAt(this.pos) === 0x29) this.error("unexpected ')'");
      out.push(this.parseOne());
    }
  }

  private parseOne(): SExpr {
    const t = this.text;
    const c = t.charCodeAt(this.pos);
    if (c === 0x28) return this.parseList();
    if (c === 0x22) return this.parseString();
    return this.parseAtom();
  }

  private parseList(): SList {
    const start = this.pos;
    const line = this.line;
    this.pos++; // (
    const items: SExpr[] = [];
    for (;;) {
      this.skip();
      if (this.pos >= this.text.length) this.error("unclosed '('", start);
      if (this.text.charCodeAt(this.pos) === 0x29) {
        this.pos++;
        return { type: "list", items, start, end: this.pos, line };
      }
      items.push(this.parseOne());
    }
  }

  private parseAtom(): SAtom {
    const t = this.text;
    const start = this.pos;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (isSpace(c) || c === 0x28 || c === 0x29 || c === 0x22 || c === 0x3b) break;
      this.pos++;
    }
    if (this.pos === start) this.error(`unexpected character '${t[start]}'`);
    return { type: "atom", value: t.slice(start, this.pos), start, end: this.pos, line: this.line };
  }

  private parseString(): SString {
    const t = this.text;
    const start = this.pos;
    const line = this.line;
    this.pos++; // opening quote
    const bytes: number[] = [];
    let runStart = this.pos; // start of a run of plain characters not yet copied
    const flush = (to: number) => {
      if (to > runStart) {
        const s = t.slice(runStart, to);
        // Fast path for ASCII.
        let ascii = true;
        for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) ascii = false;
        if (ascii) for (let i = 0; i < s.length; i++) bytes.push(s.charCodeAt(i));
        else for (const b of utf8.encode(s)) bytes.push(b);
      }
    };
    for (;;) {
      if (this.pos >= t.length) this.error("unterminated string", start);
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        flush(this.pos);
        this.pos++;
        return { type: "string", bytes: Uint8Array.from(bytes), start, end: this.pos, line };
      }
      if (c === 0x0a) this.error("newline in string");
      if (c < 0x20 || c === 0x7f) this.error("control character in string");
      if (c !== 0x5c /* \ */) {
        this.pos++;
        continue;
      }
      flush(this.pos);
      const e = t.charCodeAt(this.pos + 1);
      switch (e) {
        case 0x74 /* t */:
          bytes.push(0x09);
          this.pos += 2;
          break;
        case 0x6e /* n */:
          bytes.push(0x0a);
          this.pos += 2;
          break;
        case 0x72 /* r */:
          bytes.push(0x0d);
          this.pos += 2;
          break;
        case 0x22 /* " */:
        case 0x27 /* ' */:
        case 0x5c /* \ */:
          bytes.push(e);
          this.pos += 2;
          break;
        case 0x75 /* u */: {
          if (t.charCodeAt(this.pos + 2) !== 0x7b /* { */) this.error("malformed \\u escape");
          const close = t.indexOf("}", this.pos + 3);
          const hex = close < 0 ? "" : t.slice(this.pos + 3, close).replace(/_/g, "");
          if (!/^[0-9a-fA-F]+$/.test(hex)) this.error("malformed \\u escape");
          const cp = parseInt(hex, 16);
          if (cp >= 0x110000 || (cp >= 0xd800 && cp < 0xe000)) this.error("invalid code point in \\u escape");
          for (const b of utf8.encode(String.fromCodePoint(cp))) bytes.push(b);
          this.pos = close + 1;
          break;
        }
        default: {
          const h1 = hexValue(e);
          const h2 = hexValue(t.charCodeAt(this.pos + 2));
          if (h1 < 0 || h2 < 0) this.error("invalid escape in string");
          bytes.push(h1 * 16 + h2);
          this.pos += 3;
        }
      }
      runStart = this.pos;
    }
  }
}

/** The keyword (first atom) of a list, or undefined. */
export function head(e: SExpr): string | undefined {
  if (e.type !== "list" || e.items.length === 0) return undefined;
  const h = e.items[0];
  return h.type === "atom" ? h.value : undefined;
}

/** Short source-like rendering of an expression, for messages. */
export function show(e: SExpr, max = 80): string {
  const s = render(e);
  return s.length > max ? s.slice(0, max - 3) + "..." : s;
}

function render(e: SExpr): string {
  switch (e.type) {
    case "atom":
      return e.value;
    case "string":
      return JSON.stringify(new TextDecoder("utf-8", { ignoreBOM: true }).decode(e.bytes));
    case "list":
      return "(" + e.items.map(render).join(" ") + ")";
  }
}
