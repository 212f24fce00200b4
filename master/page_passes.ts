/**
 * REBUILD of every package's pages (Mr. Chase): each package of the list read for the request
 * has its pages asked for in the background, one pass at a time however often it is asked for.
 * Asked for again while a pass is under way, one more pass follows it, of the list read last and
 * of both pages if any request meanwhile asked for both: a list of 600,000 names each, and every
 * request's own pass, piled up otherwise.
 *
 * @module
 */

import { errorMessage, type Logger } from "../shared/log.ts";

/** What is asked for of a package: both its pages, or its project page alone. */
export type PagesPart = "PKGPROJ" | "PKGBOTH";

/** What `part` asks for, in words. */
export function pagesOf(part: PagesPart): string {
  return part === "PKGBOTH" ? "pages" : "project pages";
}

/** Asks for the pages of every package, one pass at a time. */
export class PagePasses {
  /** What is asked for and not under way yet, with its package list (null: nothing). */
  #next: { part: PagesPart; packages: Iterable<string> & { size: number } } | null = null;
  /** Whether a pass is under way (it takes what is asked for meanwhile too). */
  #running = false;

  /**
   * Asks with `send`, and says in `log` what it does; `stopping` tells an error of the task
   * stopping (a socket closed), which is not logged.
   */
  constructor(
    readonly send: (part: PagesPart, pkg: string) => Promise<unknown>,
    readonly log: Logger,
    readonly stopping: (e: unknown) => boolean,
  ) {}

  /**
   * Asks for `part` of each of `packages`: at once, or (true) after the pass under way, with what
   * else is asked for meanwhile.
   */
  ask(part: PagesPart, packages: Iterable<string> & { size: number }): boolean {
    const both = part === "PKGBOTH" || this.#next?.part === "PKGBOTH";
    this.#next = { part: both ? "PKGBOTH" : "PKGPROJ", packages };
    if (this.#running) return true;
    void this.#run();
    return false;
  }

  /** Runs passes until none is asked for; says when one stops short, and why; never rejects. */
  async #run(): Promise<void> {
    this.#running = true;
    let [part, asked, total]: [PagesPart, number, number] = ["PKGBOTH", 0, 0];
    try {
      while (this.#next !== null) {
        const { packages } = this.#next;
        [part, asked, total] = [this.#next.part, 0, packages.size];
        this.#next = null;
        this.log.info(`rewriting the ${pagesOf(part)} of ${total} packages`);
        for (const name of packages) {
          await this.send(part, name);
          asked++;
        }
      }
      this.log.info(`asked for the ${pagesOf(part)} of all ${total} packages`);
    } catch (e) {
      this.#next = null;
      if (this.stopping(e)) return;
      this.log.error(
        `stopped asking for the ${pagesOf(part)} of every package after ${asked} of ${total}: ` +
          `${errorMessage(e)} (piw-rebuild again to ask for them all)`,
      );
    } finally {
      // at once when it ends: what is asked after this starts another
      this.#running = false;
    }
  }
}
