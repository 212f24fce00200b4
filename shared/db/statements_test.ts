import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { ScriptSyntaxError, splitStatements } from "./statements.ts";

Deno.test("statements: semicolons split, with the line each statement starts on", () => {
  assertEquals(splitStatements("SELECT 1;\n\nSELECT 2;SELECT\n  3\n"), [
    { text: "SELECT 1", line: 1 },
    { text: "SELECT 2", line: 3 },
    { text: "SELECT\n  3", line: 3 },
  ]);
  assertEquals(splitStatements(""), []);
  assertEquals(splitStatements(" ;; \n;"), []);
});

Deno.test("statements: comments are skipped, and never split or start a statement", () => {
  const script = [
    "-- a comment; with a semicolon",
    "/* a block; /* nested; */ still comment; */",
    "CREATE TABLE t ( -- trailing; comment",
    "  a integer",
    ");",
    "-- only a comment at the end;",
  ].join("\n");
  assertEquals(splitStatements(script), [
    { text: "CREATE TABLE t ( -- trailing; comment\n  a integer\n)", line: 3 },
  ]);
});

Deno.test("statements: strings, identifiers and escapes keep their semicolons", () => {
  assertEquals(splitStatements(`SELECT 'a;b', 'it''s;', "x;""y" FROM t; SELECT 2`), [
    { text: `SELECT 'a;b', 'it''s;', "x;""y" FROM t`, line: 1 },
    { text: "SELECT 2", line: 1 },
  ]);
  assertEquals(splitStatements(String.raw`SELECT E'a\';b', e'\\'; SELECT 'x\';`), [
    { text: String.raw`SELECT E'a\';b', e'\\'`, line: 1 },
    { text: String.raw`SELECT 'x\'`, line: 1 },
  ]);
});

Deno.test("statements: dollar-quoted bodies, tagged or not, are one piece; $1 is not a quote", () => {
  const fn = [
    "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $fn$",
    "BEGIN",
    "  PERFORM 1; -- inside; the body",
    "  RAISE NOTICE $$ a $tag$ b; $$;",
    "END;",
    "$fn$;",
    "SELECT $body$;$body$, $1;",
    "SELECT a$b, 3;",
  ].join("\n");
  const parts = splitStatements(fn);
  assertEquals(parts.map((p) => p.line), [1, 7, 8]);
  assertEquals(parts[0]!.text, fn.slice(0, fn.indexOf("$fn$;\n") + 4));
  assertEquals(parts[1]!.text, "SELECT $body$;$body$, $1");
  assertEquals(parts[2]!.text, "SELECT a$b, 3");
});

Deno.test("statements: a script ending inside a quote is an error, not a statement", () => {
  for (
    const [script, why] of [
      ["SELECT 'abc;", "unterminated string"],
      ['SELECT "abc;', "unterminated identifier"],
      ["SELECT 1; /* abc;", "unterminated /* comment"],
      ["DO $x$ BEGIN; END; $y$;", "unterminated $x$ body"],
    ]
  ) {
    assertThrows(() => splitStatements(script!), ScriptSyntaxError, why);
  }
});
