import { assertEquals } from "../../tests/assert.ts";
import { ownDirectory, pageNames } from "./page_names.ts";

Deno.test("page names: a project's pages go under its normal form and every other spelling", () => {
  assertEquals(pageNames("tiny-demo", ["Tiny.Demo", "tiny_demo", "tiny-demo"]), [
    "tiny-demo",
    "Tiny.Demo",
    "tiny_demo",
  ]);
  // a spelling that is a file of simple/ itself gets no directory of its own
  assertEquals(pageNames("index-html", ["index.html", "Index.Html"]), ["index-html", "Index.Html"]);
  assertEquals([ownDirectory("index.json"), ownDirectory("index-json")], [false, true]);
});
