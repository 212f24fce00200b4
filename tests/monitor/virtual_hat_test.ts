/**
 * piw-sense's virtual HAT in a real terminal (tmux): the 8×8 matrix drawn in true colour, the
 * arrow keys as the joystick, q to quit. No master is needed: without one, the ping row turns
 * red (after a shortened alert time) and the rest stays dark.
 */

import { assert, assertEquals } from "../assert.ts";
import { ROOT } from "../process.ts";
import { TOOLS } from "../../shared/flags.ts";
import { Tmux } from "../tmux.ts";

const SGR = new RegExp(`^${"\x1b"}\\[([0-9;]*)m`);

/**
 * The matrix's rows as the terminal shows them: the background colour of the first 16 cells of
 * lines 1 to 8 (two cells a pixel). tmux writes a colour only where it changes, so the colour
 * in force carries over from one line to the next.
 */
function matrix(screen: string): [number, number, number][][] {
  let bg: [number, number, number] | null = null;
  return screen.split("\n").slice(0, 9).map((line) => {
    const cells: ([number, number, number] | null)[] = [];
    for (let i = 0; i < line.length;) {
      const sgr = SGR.exec(line.slice(i));
      if (sgr) {
        const codes = sgr[1]!.split(";").map(Number);
        const at = codes.indexOf(48);
        if (at >= 0 && codes[at + 1] === 2) bg = [codes[at + 2]!, codes[at + 3]!, codes[at + 4]!];
        else if (codes.includes(49) || codes.includes(0)) bg = null;
        i += sgr[0].length;
      } else {
        cells.push(bg);
        i++;
      }
    }
    return cells;
  }).slice(1).map((cells) =>
    [...Array(8).keys()].map((x) => cells[2 * x] ?? [-1, -1, -1]) as [number, number, number][]
  );
}

Deno.test("piw-sense --virtual: the matrix in the terminal, arrow keys as the joystick", async () => {
  await using tmux = await Tmux.create();
  const tool = TOOLS["piw-sense"];
  const nowhere = `ipc://${tmux.dir}/no-master`;
  await tmux.start("hat", [
    Deno.execPath(),
    "run",
    ...tool.flags,
    `${ROOT}/${tool.entry}`,
    "--virtual",
    "--alert-after",
    "1",
    "--status-queue",
    nowhere,
    "--control-queue",
    nowhere,
  ], { cols: 60, rows: 12, env: { HOME: tmux.dir } });
  const red = (c: [number, number, number]) => c[0] > 40 && c[1] === 0 && c[2] === 0;
  const screen = await tmux.waitFor("hat", (s) => {
    const rows = matrix(s);
    return rows[0]!.every(red);
  }, { escapes: true });
  const rows = matrix(screen);
  assertEquals(rows[1], Array(8).fill([0, 0, 255]), "no statistics yet: the disk row is blue");
  // the cursor pulses at (0, 3); after ↓ → it pulses at (1, 4), and (0, 3) is dark for good
  await tmux.keys("hat", "Down", "Right");
  await tmux.waitFor("hat", (s) => {
    const m = matrix(s);
    return m[3]?.[0]?.join() === "0,0,0" && (m[4]?.[1]?.[0] ?? 0) > 0;
  }, { escapes: true });
  assert((await tmux.capture("hat")).includes("arrow keys: joystick"));
  await tmux.keys("hat", "q");
  assertEquals(await tmux.exitCode("hat"), 0, await tmux.stderr("hat"));
});
