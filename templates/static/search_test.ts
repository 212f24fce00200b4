import { assertEquals } from "../../tests/assert.ts";
import { LIMIT, normalize, prepare, search } from "./search.js";

const INDEX = [
  ["numpy", 900, 5000],
  ["pytest", 50, 20000],
  ["Py_Serial", 700, 800],
  ["pyyaml", 700, 9000],
  ["happy.py", 800, 800],
  ["pillow", 1000, 1000],
  ["scipy", 300, 6000],
  ["py", 10, 10],
];

const names = (query: string, index: unknown = INDEX) =>
  search(prepare(index), query).projects.map((p) => p.name);

Deno.test("search: names are compared as PEP 503 normalises them", () => {
  assertEquals(normalize(" Py__Serial.-x "), "py-serial-x");
  assertEquals(names("PY_SER"), ["Py_Serial"]);
  assertEquals(names("happy-py"), ["happy.py"]);
  assertEquals(names("py.s"), ["Py_Serial"]);
});

Deno.test("search: names starting with the query come first, then names containing it, each most downloaded first", () => {
  // recent downloads first, then downloads ever (pyyaml and Py_Serial both have 700)
  assertEquals(names("py"), [
    "pyyaml",
    "Py_Serial",
    "pytest",
    "py",
    "numpy",
    "happy.py",
    "scipy",
  ]);
  assertEquals(names("ll"), ["pillow"]);
  assertEquals(names("nothing"), []);
  assertEquals(names("  "), [], "an empty query lists nothing");
});

Deno.test("search: at most LIMIT projects are listed, and it says when more match", () => {
  const many = Array.from({ length: LIMIT * 3 }, (_, i) => [`pkg-${i}`, i, i]);
  const found = search(prepare(many), "pkg");
  assertEquals(found.projects.length, LIMIT);
  assertEquals(found.more, true);
  assertEquals(found.projects[0]!.name, `pkg-${LIMIT * 3 - 1}`);
  assertEquals(found.projects.at(-1)!.name, `pkg-${LIMIT * 2}`);
  // substring matches fill what prefix matches leave, within the bound
  const mixed = [...many.slice(0, 3), ...many.slice(3).map(([n, r, a]) => [`x-${n}`, r, a])];
  const both = search(prepare(mixed), "pkg");
  assertEquals(both.projects.map((p) => p.name).slice(0, 4), [
    "pkg-2",
    "pkg-1",
    "pkg-0",
    `x-pkg-${LIMIT * 3 - 1}`,
  ]);
  assertEquals(both.projects.length, LIMIT);
  assertEquals(both.more, true);
  assertEquals(search(prepare(INDEX), "py").more, false);
});

Deno.test("search: entries that are not a valid name with two counts are left out", () => {
  const hostile = [
    ["<img src=x onerror=alert(1)>", 10 ** 6, 10 ** 6],
    ["../../etc", 5, 5],
    ["pyfake", "9000", 1],
    ["pyneg", -1, 1],
    ["pynan", NaN, 1],
    ["pyfloat", 1.5, 2],
    [42, 1, 1],
    "pystring",
    null,
    ["pyshort", 1],
    ["-py", 1, 1],
    ["pyok", 1, 1],
  ];
  assertEquals(names("py", hostile), ["pyok"]);
  assertEquals(names("", hostile), []);
  assertEquals(prepare({ not: "a list" }), []);
  assertEquals(prepare(null), []);
});
