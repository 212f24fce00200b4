/**
 * inproc:// between Workers of one process: the parent calls `attachWorker` once per Worker,
 * the Workers (`fixtures/zmq_worker.ts`) only import the sockets. Our sockets talk across two
 * Workers and between the main thread and a Worker, in either bind/connect order, and none of
 * the registry's own messages reach the application's message handlers.
 */

import { assert, assertEquals } from "./assert.ts";
import { endpoint } from "./zmq_support.ts";
import { attachWorker, Publisher, Push } from "../shared/zmq/mod.ts";

interface Reply {
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** A fixture Worker, attached for inproc, running one role per call. */
class TestWorker {
  readonly #worker: Worker;
  readonly #replies: ((reply: Reply) => void)[] = [];
  /** Every message the application handler saw (all must be the fixture's replies). */
  readonly seen: unknown[] = [];

  constructor() {
    this.#worker = new Worker(new URL("./fixtures/zmq_worker.ts", import.meta.url), {
      type: "module",
    });
    attachWorker(this.#worker);
    this.#worker.onmessage = (event) => {
      this.seen.push(event.data);
      this.#replies.shift()?.(event.data);
    };
  }

  /** Runs a role in the Worker and resolves to its result. */
  async run(command: Record<string, unknown>): Promise<unknown> {
    const reply = new Promise<Reply>((resolve) => this.#replies.push(resolve));
    this.#worker.postMessage(command);
    const { ok, result, error } = await reply;
    if (!ok) throw new Error(`the worker failed: ${error}`);
    return result;
  }

  terminate(): void {
    this.#worker.terminate();
    assert(
      this.seen.every((m) => typeof (m as Reply).ok === "boolean"),
      "only the application's own messages reach its handler",
    );
  }
}

Deno.test("workers: REQ in one Worker, REP in another, connecting before the bind", async () => {
  const [a, b] = [new TestWorker(), new TestWorker()];
  const address = endpoint("inproc");
  const requests = b.run({ role: "req", address, count: 3 }); // connects first
  const serving = a.run({ role: "rep", address, count: 3 });
  assertEquals(await requests, [0, 1, 2].map((i) => ["re", "q", String(i)]));
  assertEquals(await serving, 3);
  a.terminate();
  b.terminate();
});

Deno.test("workers: DEALERs with identities in two Workers, ROUTER in a third", async () => {
  const [router, x, y] = [new TestWorker(), new TestWorker(), new TestWorker()];
  const address = endpoint("inproc");
  const serving = router.run({ role: "router", address, count: 4 });
  const [fromX, fromY] = await Promise.all([
    x.run({ role: "dealer", address, count: 2, id: "x" }),
    y.run({ role: "dealer", address, count: 2 }),
  ]);
  assertEquals(fromX, [["ok", "d", "0"], ["ok", "d", "1"]]);
  assertEquals(fromY, [["ok", "d", "0"], ["ok", "d", "1"]]);
  assertEquals(await serving, 4);
  for (const worker of [router, x, y]) worker.terminate();
});

Deno.test("workers: 64 KiB frames pushed from one Worker arrive whole in another", async () => {
  const [puller, pusher] = [new TestWorker(), new TestWorker()];
  const address = endpoint("inproc");
  const pulling = puller.run({ role: "pull", address, count: 20 });
  assertEquals(await pusher.run({ role: "push", address, count: 20 }), 20);
  assertEquals(await pulling, Array.from({ length: 20 }, (_, i) => [String(i), 65536, true]));
  puller.terminate();
  pusher.terminate();
});

Deno.test("workers: the main thread publishes to a Worker and pushes to one", async () => {
  const worker = new TestWorker();
  const pub = new Publisher();
  const stats = await pub.bind(endpoint("inproc"));
  const receiving = worker.run({ role: "sub", address: stats, count: 3, prefix: "STATS" });
  let done = false;
  receiving.finally(() => done = true);
  for (let i = 0; !done; i++) {
    await pub.send(["SLAVE", String(i)]);
    await pub.send(["STATS", String(i)]);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const received = await receiving as string[][];
  assert(received.every(([topic]) => topic === "STATS"), JSON.stringify(received));
  const jobs = endpoint("inproc");
  const pulling = worker.run({ role: "pull", address: jobs, count: 2 });
  const push = new Push({ sendTimeout: 10000 });
  push.connect(jobs);
  const big = new Uint8Array(65536).fill(1);
  await push.send(["0", new Uint8Array(65536)]);
  await push.send(["1", big]);
  assertEquals(big.length, 0, "the frame was transferred, not copied");
  assertEquals(await pulling, [["0", 65536, true], ["1", 65536, true]]);
  await Promise.all([pub.close(), push.close()]);
  worker.terminate();
});
