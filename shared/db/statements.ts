/**
 * Splits an SQL script into statements, so that piw-initdb can run them one at a time and say
 * which one failed (the manual's `parse_statements`). It understands `-- comments`,
 * nested block comments, 'string literals' (with '' inside), E'escaped \' strings',
 * "quoted identifiers" and $tag$ dollar-quoted bodies $tag$; a semicolon outside all of
 * these ends a statement.
 *
 * @module
 */

/** One statement of a script. */
export interface Statement {
  /** The statement's text, without its terminating semicolon. */
  text: string;
  /** The line (from 1) where the statement starts. */
  line: number;
}

/** Raised for a script that ends inside a string, identifier, comment or dollar quote. */
export class ScriptSyntaxError extends Error {
  override name = "ScriptSyntaxError";
}

const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/** Where the quoted or commented run starting at `i` ends (the index just past it). */
function skipQuoted(script: string, i: number): number {
  const c = script[i];
  const next = script[i + 1];
  if (c === "-" && next === "-") {
    const end = script.indexOf("\n", i);
    return end < 0 ? script.length : end + 1;
  }
  if (c === "/" && next === "*") {
    let depth = 0;
    for (let j = i; j < script.length - 1; j++) {
      if (script[j] === "/" && script[j + 1] === "*") {
        depth++;
        j++;
      } else if (script[j] === "*" && script[j + 1] === "/") {
        depth--;
        j++;
        if (depth === 0) return j + 1;
      }
    }
    throw new ScriptSyntaxError("unterminated /* comment");
  }
  if (c === "'" || c === '"') {
    const escapes = c === "'" && /[eE]/.test(script[i - 1] ?? "") &&
      !/[A-Za-z0-9_$]/.test(script[i - 2] ?? "");
    for (let j = i + 1; j < script.length; j++) {
      if (escapes && script[j] === "\\") {
        j++;
      } else if (script[j] === c) {
        if (script[j + 1] !== c) return j + 1;
        j++;
      }
    }
    throw new ScriptSyntaxError(c === "'" ? "unterminated string" : "unterminated identifier");
  }
  if (c === "$" && !/[A-Za-z0-9_]/.test(script[i - 1] ?? "")) {
    DOLLAR_TAG.lastIndex = i;
    const tag = DOLLAR_TAG.exec(script)?.[0];
    if (tag) {
      const end = script.indexOf(tag, i + tag.length);
      if (end < 0) throw new ScriptSyntaxError(`unterminated ${tag} body`);
      return end + tag.length;
    }
  }
  return i;
}

/** The statements of a script, in order, with empty ones (and comment-only ones) dropped. */
export function splitStatements(script: string): Statement[] {
  const out: Statement[] = [];
  let start = 0; // where the current statement's code begins
  let line = 1;
  let startLine = 1;
  let sawCode = false;
  let i = 0;
  const countLines = (from: number, to: number) => {
    for (let j = from; j < to; j++) if (script[j] === "\n") line++;
  };
  while (i < script.length) {
    const c = script[i]!;
    const after = skipQuoted(script, i);
    const isComment = (c === "-" || c === "/") && after !== i;
    if (after !== i) {
      if (!isComment && !sawCode) {
        sawCode = true;
        start = i;
        startLine = line;
      }
      countLines(i, after);
      i = after;
      continue;
    }
    if (c === ";") {
      if (sawCode) out.push({ text: script.slice(start, i).trim(), line: startLine });
      sawCode = false;
    } else if (!/\s/.test(c) && !sawCode) {
      sawCode = true;
      start = i;
      startLine = line;
    }
    if (c === "\n") line++;
    i++;
  }
  if (sawCode) out.push({ text: script.slice(start).trim(), line: startLine });
  return out;
}
