import { assertEquals } from "../tests/assert.ts";
import { Logger } from "../shared/log.ts";
import { PagePasses, type PagesPart } from "./page_passes.ts";

/**
 * A `send` whose calls are recorded; while `held`, each waits until the test lets it go, and
 * `failing` makes the next one reject.
 */
function scribe() {
  const calls: [PagesPart, string][] = [];
  const held: (() => void)[] = [];
  const state = { holding: false, failing: false };
  const send = (part: PagesPart, pkg: string) => {
    calls.push([part, pkg]);
    if (state.failing) {
      state.failing = false;
      return Promise.reject(new Error("the web queue is full"));
    }
    return state.holding ? new Promise<void>((go) => held.push(go)) : Promise.resolve();
  };
  return { calls, held, state, send };
}

/** Lets every promise settled so far run its continuations (the passes use no timers). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

const log = new Logger("page_passes_test");

Deno.test("page passes: asked again while one is under way, one more pass of the last list", async () => {
  const s = scribe();
  const passes = new PagePasses(s.send, log, () => false);
  s.state.holding = true;
  assertEquals(passes.ask("PKGPROJ", new Set(["a", "b"])), false);
  assertEquals(s.calls, [["PKGPROJ", "a"]]);
  // three more requests while the first pass waits: one pass follows, of both pages (one asked
  // for them), with the list read last
  assertEquals(passes.ask("PKGBOTH", new Set(["a", "b", "c"])), true);
  assertEquals(passes.ask("PKGPROJ", new Set(["a", "b", "c", "d"])), true);
  s.state.holding = false;
  s.held.shift()!();
  await settle();
  assertEquals(s.calls, [
    ["PKGPROJ", "a"],
    ["PKGPROJ", "b"],
    ["PKGBOTH", "a"],
    ["PKGBOTH", "b"],
    ["PKGBOTH", "c"],
    ["PKGBOTH", "d"],
  ]);
  // done: the next request is a pass of its own, at once
  assertEquals(passes.ask("PKGPROJ", new Set(["e"])), false);
  await settle();
  assertEquals(s.calls.slice(6), [["PKGPROJ", "e"]]);
});

Deno.test("page passes: a pass that fails stops, and drops what waited; the next one goes", async () => {
  const s = scribe();
  const passes = new PagePasses(s.send, log, () => false);
  s.state.holding = true;
  passes.ask("PKGBOTH", new Set(["a", "b"]));
  assertEquals(passes.ask("PKGBOTH", new Set(["a", "b", "c"])), true);
  s.state.holding = false;
  s.state.failing = true;
  s.held.shift()!();
  await settle();
  // the first pass failed at "b"; the one that waited went with it (piw-rebuild asks again)
  assertEquals(s.calls, [["PKGBOTH", "a"], ["PKGBOTH", "b"]]);
  assertEquals(passes.ask("PKGPROJ", new Set(["a"])), false);
  await settle();
  assertEquals(s.calls.slice(2), [["PKGPROJ", "a"]]);
});
