import { assert, assertEquals, assertRejects, assertThrows } from "../tests/assert.ts";
import { FakePyPI } from "../tests/fixtures/fake_pypi.ts";
import { classifyAction, MAX_REASONS, XmlRpcChangeFeed } from "./pypi.ts";
import {
  decodeResponse,
  encodeCall,
  MAX_RESPONSE_BYTES,
  MAX_VALUES,
  XmlRpcError,
} from "./xmlrpc.ts";

Deno.test("pypi: the change feed reads a (fake) PyPI's changelog since a serial", async () => {
  await using pypi = new FakePyPI();
  const start = pypi.serial;
  await pypi.release("Foo.Bar", "1.0");
  pypi.binaryRelease("winonly", "2.0");
  pypi.noise("Foo.Bar");
  pypi.yank("Foo.Bar", "1.0");
  pypi.remove("winonly", "2.0");
  pypi.remove("winonly");
  const feed = new XmlRpcChangeFeed(pypi.xmlrpcUrl);
  const batch = await feed.since(start);
  assertEquals(batch.serial, pypi.serial, "ignored actions still advance the serial");
  assertEquals(batch.events.map((e) => [e.kind, e.package, e.version]), [
    ["create", "Foo.Bar", null],
    ["source", "Foo.Bar", "1.0"],
    ["create", "winonly", null],
    ["binary", "winonly", "2.0"],
    ["yank", "Foo.Bar", "1.0"],
    ["remove-version", "winonly", "2.0"],
    ["remove-package", "winonly", null],
  ]);
  const serials = batch.events.map((e) => e.serial);
  assertEquals(serials, [...serials].sort((a, b) => a - b));
  assertEquals((await feed.since(pypi.serial)).events, []);
});

Deno.test("pypi: a changelog row that cannot be read is skipped, not the whole batch", async () => {
  // a broken or hostile mirror's rows: each used to fail the whole batch, and every poll after
  // it asked for the same batch again, so the master stopped following PyPI for good
  await using pypi = new FakePyPI();
  const start = pypi.serial;
  const text = (t: string) => `<value><string>${t}</string></value>`;
  const int = (n: string) => `<value><int>${n}</int></value>`;
  const row = (name: string, time: string, serial: string) => [
    name,
    text("1.0"),
    time,
    text("add source file x-1.0.tar.gz"),
    serial,
  ];
  await pypi.release("before", "1.0");
  pypi.rawRow(row(text("far-future"), int("10413792000"), int(String(pypi.serial + 1))));
  pypi.rawRow(row(int("7"), int("1700000000"), int(String(pypi.serial + 1))));
  pypi.rawRow(
    row(text("fraction"), int("1700000000"), `<value><double>${pypi.serial}.5</double></value>`),
    pypi.serial + 1,
  );
  pypi.rawRow(row(text("huge"), int("1700000000"), int("9007199254740993")), pypi.serial + 1);
  // a row applied already, replayed
  pypi.rawRow(row(text("replayed"), int("1700000000"), int(String(start))), pypi.serial + 1);
  await pypi.release("after", "1.0");
  const batch = await new XmlRpcChangeFeed(pypi.xmlrpcUrl).since(start);
  assertEquals(batch.events.map((e) => e.package), ["before", "before", "after", "after"]);
  assertEquals(batch.serial, pypi.serial, "unreadable rows' serials still advance it");
  assertEquals(batch.skipped, 4, batch.reasons.join("\n"));
  assertEquals(batch.reasons.length, MAX_REASONS);
  assert(batch.reasons.every((why) => why.length < 300), batch.reasons.join("\n"));
});

Deno.test("pypi: PyPI's actions map to the farm's events", () => {
  assertEquals(classifyAction("add source file foo-1.0.tar.gz", "1.0"), "source");
  assertEquals(classifyAction("add py3 file foo-1.0-py3-none-any.whl", "1.0"), "binary");
  assertEquals(classifyAction("add cp39 file foo-1.0-cp39-cp39-win32.whl", "1.0"), "binary");
  assertEquals(classifyAction("create", null), "create");
  assertEquals(classifyAction("remove release", "1.0"), "remove-version");
  assertEquals(classifyAction("remove project", null), "remove-package");
  assertEquals(classifyAction("remove", null), "remove-package");
  assertEquals(classifyAction("yank release", "1.0"), "yank");
  assertEquals(classifyAction("unyank release", "1.0"), "unyank");
  assertEquals(classifyAction("docupdate", null), null);
  assertEquals(classifyAction("new release", "1.0"), null);
});

Deno.test("xmlrpc: calls encode and responses decode, faults and garbage raise XmlRpcError", async () => {
  assertEquals(
    encodeCall("f", [1, "a<b", null]),
    '<?xml version="1.0"?><methodCall><methodName>f</methodName><params><param><value><int>1</int></value></param><param><value><string>a&#60;b</string></value></param><param><value><nil/></value></param></params></methodCall>',
  );
  const ok = decodeResponse(
    `<?xml version="1.0"?><methodResponse><params><param><value><array><data>
      <value><string>a&amp;b</string></value><value>untyped</value><value><i4>-5</i4></value>
      <value><boolean>1</boolean></value><value><double>1.5</double></value><value><nil/></value>
      <value><struct><member><name>k</name><value><int>1</int></value></member></struct></value>
      <value><dateTime.iso8601>20200102T03:04:05</dateTime.iso8601></value>
      <value><base64>AAE=</base64></value><value><string/></value><value><array><data/></array></value>
    </data></array></value></param></params></methodResponse>`,
  );
  assertEquals(ok, [
    "a&b",
    "untyped",
    -5,
    true,
    1.5,
    null,
    { k: 1 },
    new Date("2020-01-02T03:04:05Z"),
    new Uint8Array([0, 1]),
    "",
    [],
  ]);
  assertThrows(
    () =>
      decodeResponse(
        "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member><member><name>faultString</name><value><string>boom</string></value></member></struct></value></fault></methodResponse>",
      ),
    XmlRpcError,
    "1: boom",
  );
  for (
    const bad of [
      "",
      "<html>",
      "<methodResponse><params><param><value><int>x</int></value></param></params></methodResponse>",
      "<methodResponse><params><param><value><array><data><value>".repeat(1),
      "<methodResponse><params><param><value><foo>1</foo></value></param></params></methodResponse>",
      // characters that do not exist (String.fromCodePoint's RangeError before)
      "<methodResponse><params><param><value>&#x110000;</value></param></params></methodResponse>",
      "<methodResponse><params><param><value>&#99999999999;</value></param></params></methodResponse>",
    ]
  ) {
    assertThrows(() => decodeResponse(bad), XmlRpcError, undefined, bad);
  }
  await assertRejects(
    () => new XmlRpcChangeFeed("http://127.0.0.1:9/pypi", 2000).since(0),
    XmlRpcError,
  );
});

Deno.test("pypi: a row past PyPI's last serial is left for a later batch", async () => {
  // the serial kept only grows: one such row made every later batch start past PyPI's end
  await using pypi = new FakePyPI();
  const start = pypi.serial;
  await pypi.release("before", "1.0");
  pypi.rowWithSerial("from-the-future", "1.0", Number.MAX_SAFE_INTEGER);
  await pypi.release("after", "1.0");
  const batch = await new XmlRpcChangeFeed(pypi.xmlrpcUrl).since(start);
  assertEquals(batch.serial, pypi.serial);
  assertEquals(batch.ahead, 1);
  assertEquals(batch.events.map((e) => e.package), ["before", "before", "after", "after"]);
});

Deno.test("xmlrpc: an answer of too many values, or quoting megabytes, is refused briefly", () => {
  // 64 MiB of empty values were 8 million rows, each skipped with an Error of its own: a minute
  // of the thread the database requests are answered on
  const wrap = (inner: string) =>
    `<methodResponse><params><param>${inner}</param></params></methodResponse>`;
  const many = wrap(`<value><array><data>${"<value/>".repeat(MAX_VALUES)}</data></array></value>`);
  assertThrows(() => decodeResponse(many), XmlRpcError, `more than ${MAX_VALUES} values`);
  assertEquals(
    (decodeResponse(
      wrap(`<value><array><data>${"<value/>".repeat(MAX_VALUES - 1)}</data></array></value>`),
    ) as unknown[]).length,
    MAX_VALUES - 1,
  );
  // what an answer quotes in an error is cut: a poll's error used to log all of it
  const mega = "7".repeat(1 << 20);
  for (
    const bad of [
      `<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member><member><name>faultString</name><value><string>${mega}</string></value></member></struct></value></fault></methodResponse>`,
      wrap(`<value><int>${mega}x</int></value>`),
      wrap(`<value><boolean>${mega}</boolean></value>`),
      wrap(`<value><dateTime.iso8601>${mega}</dateTime.iso8601></value>`),
      wrap(`<value>&a${"a".repeat(1 << 20)};</value>`),
      wrap(`<value>&#${mega};</value>`),
      wrap(`<value><x${"x".repeat(1 << 20)}>1</x></value>`),
    ]
  ) {
    const e = assertThrows(() => decodeResponse(bad), XmlRpcError);
    assert(e.message.length < 400, `${e.message.length} characters: ${e.message.slice(0, 300)}`);
  }
});

Deno.test("xmlrpc: an answer over MAX_RESPONSE_BYTES is refused, not read", async () => {
  // a server that streams for ever (no Content-Length), and one that says it will send 1 GiB:
  // the whole answer used to be read into memory whatever its size
  let streamed = 0;
  const endless = () =>
    new ReadableStream<Uint8Array>({
      pull(c) {
        streamed += 1 << 20;
        c.enqueue(new Uint8Array(1 << 20).fill(0x20));
      },
    });
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) =>
      new URL(req.url).pathname === "/endless"
        ? new Response(endless(), { headers: { "content-type": "text/xml" } })
        : new Response(endless(), { headers: { "content-length": String(2 ** 30) } }),
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  await assertRejects(
    () => new XmlRpcChangeFeed(`${base}/endless`, 60_000).since(0),
    XmlRpcError,
    `more than ${MAX_RESPONSE_BYTES} bytes`,
  );
  assert(streamed < 2 * MAX_RESPONSE_BYTES, `${streamed} bytes were asked of the server`);
  await assertRejects(
    () => new XmlRpcChangeFeed(`${base}/claims`, 60_000).since(0),
    XmlRpcError,
    `${2 ** 30} bytes, over the limit`,
  );
});
