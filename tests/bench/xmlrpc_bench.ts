/**
 * Reading PyPI's largest XML-RPC answer: `changelog_since_serial` with 50,000 rows (13.9 MB),
 * the most PyPI gives at once (catching up after a stop reads one such answer a poll). With
 * `PIW_BASELINE` naming a checkout of another revision, its parser runs beside ours.
 *
 * Run: [PIW_BASELINE=/path/to/checkout] deno task bench tests/bench/xmlrpc_bench.ts
 */

import { decodeResponse } from "../../master/xmlrpc.ts";

const rows = Array.from(
  { length: 50_000 },
  (_, i) =>
    `<value><array><data><value><string>project-${i}</string></value>` +
    `<value><string>1.${i}.0</string></value><value><int>${1_700_000_000 + i}</int></value>` +
    `<value><string>add source file project-${i}-1.${i}.0.tar.gz</string></value>` +
    `<value><int>${20_000_000 + i}</int></value></data></array></value>`,
);
const answer = `<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n` +
  `<value><array><data>\n${rows.join("\n")}\n</data></array></value>\n` +
  `</param>\n</params>\n</methodResponse>\n`;

Deno.bench("changelog of 50,000 rows: decode (this tree)", { group: "changelog" }, () => {
  decodeResponse(answer);
});

const baseline = Deno.env.get("PIW_BASELINE");
if (baseline) {
  const old = await import(`${baseline}/master/xmlrpc.ts`) as {
    decodeResponse: typeof decodeResponse;
  };
  Deno.bench(
    `changelog of 50,000 rows: decode (${baseline})`,
    { group: "changelog", baseline: true },
    () => {
      old.decodeResponse(answer);
    },
  );
}
