import { assertEquals, assertThrows } from "../tests/assert.ts";
import { Timestamp } from "../shared/timestamp.ts";
import {
  classify,
  compileLogFormat,
  LogFormatError,
  parseApacheTime,
  parsePipUserAgent,
} from "./apache_log.ts";

const PIP_UA =
  'pip/23.0.1 {"ci":null,"cpu":"aarch64","distro":{"id":"bookworm","libc":{"lib":"glibc","version":"2.36"},"name":"Debian GNU/Linux","version":"12"},"implementation":{"name":"CPython","version":"3.11.2"},"installer":{"name":"pip","version":"23.0.1"},"openssl_version":"OpenSSL 3.0.11","python":"3.11.2","rustc_version":null,"setuptools_version":"66.1.1","system":{"name":"Linux","release":"6.1.0-rpi7"}}';
const apacheUA = PIP_UA.replace(/"/g, '\\"');

Deno.test("apache log: combined lines parse, with Apache's escaping undone", () => {
  const p = compileLogFormat("combined");
  const r = p.parse(
    `10.0.0.1 - - [02/Jan/2026:03:04:05 +0100] "GET /simple/foo/foo-1.0-py3-none-any.whl HTTP/1.1" 200 1234 "-" "${apacheUA}"`,
  );
  assertEquals(r, {
    host: "10.0.0.1",
    time: Timestamp.parse("2026-01-02T02:04:05Z"),
    method: "GET",
    path: "/simple/foo/foo-1.0-py3-none-any.whl",
    status: 200,
    userAgent: PIP_UA,
  });
  assertEquals(classify(r!), { kind: "LOGDOWNLOAD", filename: "foo-1.0-py3-none-any.whl" });
});

Deno.test("apache log: nicknames and custom formats, quoted and unquoted", () => {
  const vhost = compileLogFormat('%v %h %l %u %t "%r" %>s %b "%{User-Agent}i"').parse(
    'pi.example.org 10.0.0.2 - bob [02/Jan/2026:03:04:05 -0000] "GET / HTTP/1.0" 200 - "a/1"',
  );
  assertEquals(vhost?.host, "10.0.0.2");
  assertEquals(vhost?.path, "/");
  // Apache's common and common_vhost log no User-Agent: nothing in them would count
  for (const format of ["common", "common_vhost"]) {
    assertThrows(() => compileLogFormat(format), LogFormatError, "User-Agent");
  }
  const custom = compileLogFormat(
    '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i" %D',
  );
  const r = custom.parse(
    'www:443 ::1 - - [31/Dec/2025:23:59:59 +0000] "GET /project/foo/?x=1 HTTP/2.0" 200 99 "https://a/" "Mozilla/5.0 (X11)" 1234',
  );
  assertEquals([r?.host, r?.path, r?.userAgent], ["::1", "/project/foo/", "Mozilla/5.0 (X11)"]);
  const unquoted = compileLogFormat("%h %t %m %U %s %{User-agent}i").parse(
    "1.2.3.4 [01/Feb/2026:00:00:00 +0000] GET /faq.html 200 curl/8",
  );
  assertEquals(classify(unquoted!), { kind: "LOGPAGE", page: "faq" });
  assertThrows(() => compileLogFormat("%h %Z"), LogFormatError, "%Z");
  assertThrows(() => compileLogFormat("%t %r"), LogFormatError, "client");
});

Deno.test("apache log: runs of blanks are read one way (a line of them is refused at once)", () => {
  // each blank of the format matched a run of them, and unquoted fields may be empty: a run of
  // blanks could be split every way between them before the match failed: 4,000 spaces took 8 s
  // with combined, and 1,000 spaces in an unquoted header a client sets took 37 s with the format
  // below, hours for a 64 KiB line
  assertEquals(compileLogFormat("combined").parse(" ".repeat(64_000)), null);
  const xff = compileLogFormat('%{X-Forwarded-For}i %h %l %u %t "%r" %>s %b "%{User-Agent}i"');
  const tail = '10.0.0.1 - - [02/Jan/2026:03:04:05 +0000] "GET / HTTP/1.1" 200 5 "a/1"';
  assertEquals(xff.parse(`${" ".repeat(1_000)}a b c d ${tail}`), null);
  assertEquals(xff.parse(`192.0.2.7 ${tail}`)?.host, "10.0.0.1");
  assertEquals(xff.parse(` ${tail}`)?.host, "10.0.0.1", "a header sent empty");
  // %U%q, Apache's own split of %r's path: %q is empty without a query
  const split = compileLogFormat('%h %t "%m %U%q %H" %>s %{User-agent}i');
  const at = "1.2.3.4 [01/Feb/2026:00:00:00 +0000]";
  const wheel = "/simple/foo/foo-1.0-py3-none-any.whl";
  assertEquals(split.parse(`${at} "GET ${wheel} HTTP/1.1" 200 pip/23`)?.path, wheel);
  assertEquals(
    split.parse(`${at} "GET /project/foo/?x=1 HTTP/1.1" 200 pip/23`)?.path,
    "/project/foo/",
  );
});

Deno.test("apache log: classification follows WIRE.md", () => {
  const rec = (path: string, userAgent = PIP_UA, status = 200, method = "GET") => ({
    host: "h",
    time: null,
    method,
    path,
    status,
    userAgent,
  });
  assertEquals(classify(rec("/simple/foo/")), { kind: "LOGSEARCH", package: "foo" });
  assertEquals(classify(rec("/simple/foo/index.json")), { kind: "LOGSEARCH", package: "foo" });
  assertEquals(
    classify(rec("/simple/foo/", "Mozilla/5.0")),
    null,
    "only pip's fetches count as searches",
  );
  assertEquals(classify(rec("/simple/foo/foo.whl", "curl/8")), null);
  assertEquals(classify(rec("/project/foo/", "Mozilla/5.0")), {
    kind: "LOGPROJECT",
    package: "foo",
  });
  assertEquals(classify(rec("/project/foo/json/", "curl/8")), { kind: "LOGJSON", package: "foo" });
  assertEquals(classify(rec("/", "Mozilla/5.0")), { kind: "LOGPAGE", page: "home" });
  assertEquals(classify(rec("/simple/foo/", PIP_UA, 404)), null);
  assertEquals(classify(rec("/simple/foo/", "")), null);
  assertEquals(classify(rec("/simple/foo/", "-")), null);
  assertEquals(classify(rec("/simple/foo/", PIP_UA, 200, "HEAD")), null);
  assertEquals(classify(rec("/%E0%A4%A/")), null, "bad percent-encoding");
  assertEquals(classify(rec("/packages.json", "x")), null);
});

Deno.test("apache log: pip's User-Agent JSON gives the ten fields", () => {
  assertEquals(parsePipUserAgent(PIP_UA), {
    arch: "aarch64",
    distroName: "Debian GNU/Linux",
    distroVersion: "12",
    osName: "Linux",
    osVersion: "6.1.0-rpi7",
    pyName: "CPython",
    pyVersion: "3.11.2",
    installerName: "pip",
    installerVersion: "23.0.1",
    setuptoolsVersion: "66.1.1",
  });
  // no JSON, or JSON that does not parse: as piwheels reads it, CPython and nothing more
  for (const agent of ["pip/1.0 {not json", "pip/1.5.6 CPython/2.7.9 Linux/3.18.7+"]) {
    const { pyName, ...rest } = parsePipUserAgent(agent);
    assertEquals(pyName, "CPython", agent);
    assertEquals(Object.values(rest).every((v) => v === null), true, agent);
  }
  assertEquals(Object.values(parsePipUserAgent("curl/8.0")).every((v) => v === null), true);
  assertEquals(parsePipUserAgent('pip/1.0 {"cpu": 5, "distro": "x"}').arch, null);
  // as piwheels 0.16 reads them, or its download statistics and ours split: an old pip names
  // no implementation (CPython, then), and a version is the implementation's or none
  const old = parsePipUserAgent('pip/9.0.1 {"python":"2.7.13","cpu":"armv7l"}');
  assertEquals([old.pyName, old.pyVersion], ["CPython", "2.7.13"]);
  const pypy = parsePipUserAgent('pip/20.0 {"implementation":{"name":"PyPy"},"python":"3.6.9"}');
  assertEquals([pypy.pyName, pypy.pyVersion], ["PyPy", null]);
});

Deno.test("apache log: times convert to UTC; garbage is null", () => {
  assertEquals(
    parseApacheTime("10/Oct/2000:13:55:36 -0700"),
    Timestamp.parse("2000-10-10T20:55:36Z"),
  );
  assertEquals(parseApacheTime("10/Foo/2000:13:55:36 -0700"), null);
  assertEquals(parseApacheTime("31/Feb/2026:00:00:00 +0000"), null, "no 31 February");
  assertEquals(parseApacheTime("01/Jan/2026:25:61:61 +0000"), null, "no 25:61:61");
  assertEquals(parseApacheTime("01/Jan/2026:00:00:00 +9999"), null, "no offset of 99 hours");
  assertEquals(parseApacheTime("31/Dec/9999:23:59:59 -2359"), null, "beyond a timestamp");
  assertEquals(
    parseApacheTime("29/Feb/2024:23:59:59 +0000"),
    Timestamp.parse("2024-02-29T23:59:59Z"),
  );
  assertEquals(parseApacheTime(""), null);
  const p = compileLogFormat("combined");
  for (
    const bad of [
      "",
      "garbage",
      '1.2.3.4 - - [bad time] "GET / HTTP/1.1" 200 1 "-" "x"',
      "\x00\x01\x02",
      '1.2.3.4 - - [02/Jan/2026:03:04:05 +0100] "GET /',
    ]
  ) {
    assertEquals(p.parse(bad), null, JSON.stringify(bad));
  }
});
