/**
 * Rendering every page of the web site from plain data: the Vento templates of `templates/`
 * (embedded, so bundles and binaries carry them) for the HTML, and the JSON forms (PEP 691
 * simple pages, the project JSON, the search index) directly. Nothing here touches the file
 * system or the database; `master/scribe/` writes what this returns.
 *
 * @module
 */

import vento from "ventojs";
import { MemoryLoader } from "ventojs/loaders/memory.js";
import type { StatsMessage } from "../../shared/protocols.ts";
import type { Timestamp } from "../../shared/timestamp.ts";
import { VERSION } from "../../shared/version.ts";
import { normalizeName } from "../../shared/wheel.ts";
import { TEMPLATES } from "../../templates/mod.ts";
import type { AbiStatus, ProjectData, VersionData } from "../project_data.ts";
import type { History } from "../db.ts";
import { daily, renderPlot } from "./plot.ts";
import { logPath } from "./log_path.ts";

const env = vento({
  includes: new MemoryLoader(
    Object.fromEntries(Object.entries(TEMPLATES).map(([k, v]) => [`/${k}`, v])),
  ),
  autoescape: true,
});

/** Site-wide settings every page shows. */
export interface Site {
  /** The public base URL (`https://example.org`), for the install snippets; "" if unknown. */
  baseUrl: string;
  /** When the page is written. */
  now: Timestamp;
}

/** A file as the simple index lists it. */
export interface IndexFile {
  /** The wheel's file name. */
  filename: string;
  /** Its SHA-256, lower-case hex. */
  filehash: string;
  /** Its size in bytes. */
  filesize: number;
  /** The release it belongs to. */
  version: string;
  /** Its `Requires-Python`, if any. */
  requiresPython: string | null;
  /** SHA-256 of its extracted core metadata (PEP 658), if published. */
  metadataHash: string | null;
  /** Whether its release is yanked (PEP 592). */
  yanked: boolean;
}

const number = new Intl.NumberFormat("en");

function common(site: Site): Record<string, unknown> {
  return {
    written: site.now.toString(),
    version: VERSION,
    baseUrl: site.baseUrl || "https://YOUR-PIWHEELS-HOST",
  };
}

async function render(template: string, data: Record<string, unknown>): Promise<string> {
  return (await env.run(template, data)).content;
}

/** `/simple/index.html` (PEP 503) and its PEP 691 JSON form, over the normalised names. */
export async function renderSimpleIndex(
  projects: string[],
): Promise<{ html: string; json: string }> {
  const names = [...new Set(projects.map(normalizeName))].sort();
  return {
    html: await render("simple_index.vto", { projects: names }),
    json: JSON.stringify({
      meta: { "api-version": "1.1" },
      projects: names.map((name) => ({ name })),
    }),
  };
}

/**
 * `/simple/<name>/index.html` (PEP 503 with PEP 592 yanks, PEP 629 version meta, PEP 658/714
 * metadata and `data-requires-python`) and its PEP 691 JSON form. File URLs are relative: the
 * files live beside the page, or under `prefix` (`../foo-bar/`) for a page written under
 * another spelling of the name.
 */
export async function renderSimpleProject(
  name: string,
  files: IndexFile[],
  prefix = "",
): Promise<{ html: string; json: string }> {
  const sorted = [...files].sort((a, b) => a.filename.localeCompare(b.filename));
  const versions = [...new Set(sorted.map((f) => f.version))];
  return {
    html: await render("simple_project.vto", { name: normalizeName(name), files: sorted, prefix }),
    json: JSON.stringify({
      meta: { "api-version": "1.1" },
      name: normalizeName(name),
      versions,
      files: sorted.map((f) => ({
        filename: f.filename,
        url: `${prefix}${f.filename}`,
        hashes: { sha256: f.filehash },
        size: f.filesize,
        ...(f.requiresPython ? { "requires-python": f.requiresPython } : {}),
        // PEP 714: only "core-metadata" in JSON; the older "dist-info-metadata" key breaks
        // pip 23.0 (Debian 12's), which misreads it
        ...(f.metadataHash ? { "core-metadata": { sha256: f.metadataHash } } : {}),
        yanked: f.yanked,
      })),
    }),
  };
}

/** The home page, `/index.html`. */
export async function renderHome(stats: StatsMessage, site: Site): Promise<string> {
  const formatted = Object.fromEntries(
    Object.entries(stats).map((
      [k, v],
    ) => [k, typeof v === "number" ? number.format(v) : String(v)]),
  );
  return await render("home.vto", { ...common(site), stats: formatted });
}

/** The statistics page, `/stats.html`. */
export async function renderStats(
  stats: StatsMessage,
  site: Site,
  history: History | null = null,
): Promise<string> {
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;
  const rows: [string, string][] = [
    ["Packages with wheels", number.format(stats.packages_built)],
    ["Builds attempted", number.format(stats.builds_count)],
    ["Successful builds", number.format(stats.builds_success)],
    ["Builds in the last hour", number.format(stats.builds_last_hour)],
    ["Builds pending", number.format(stats.builds_pending)],
    ["Total build time", stats.builds_time.toString()],
    ["Total size of wheels", gib(stats.builds_size)],
    ["Wheels", number.format(stats.files_count)],
    ["Disk free", `${gib(stats.disk_free)} of ${gib(stats.disk_size)}`],
    ["Downloads in the last 30 days", number.format(stats.downloads_last_month)],
    ["Downloads ever", number.format(stats.downloads_all)],
  ];
  return await render("stats.vto", {
    ...common(site),
    rows,
    plots: history ? historyPlots(history, new Date(site.now.micros / 1000), "") : [],
  });
}

/** How many days the plots of builds and downloads cover. */
export const HISTORY_DAYS = 30;

/** The plots of builds and downloads per day (SVG), of the site or (`what`) one project. */
export function historyPlots(history: History, today: Date, what: string): string[] {
  const builds = (i: 1 | 2) =>
    daily(history.builds.map((r) => [r[0], r[i]] as const), today, HISTORY_DAYS);
  const ok = builds(1);
  const failed = builds(2);
  const downloads = daily(history.downloads, today, HISTORY_DAYS);
  return [
    renderPlot({
      title: `Builds${what} per day, last ${HISTORY_DAYS} days`,
      periods: ok.periods,
      series: [
        { label: "succeeded", color: "#2e7d32", values: ok.values },
        { label: "failed", color: "#c62828", values: failed.values },
      ],
    }),
    renderPlot({
      title: `Downloads${what} per day, last ${HISTORY_DAYS} days`,
      periods: downloads.periods,
      series: [{ label: "downloads", color: "#1565c0", values: downloads.values }],
    }),
  ];
}

/** The files of a project as its simple page lists them (yanked when their release is). */
export function indexFiles(data: ProjectData): IndexFile[] {
  return data.versions.flatMap((v) =>
    v.files.map((f) => ({
      filename: f.filename,
      filehash: f.filehash,
      filesize: f.filesize,
      version: v.version,
      requiresPython: f.requiresPython ?? v.requiresPython,
      metadataHash: f.metadataHash,
      yanked: v.yanked,
    }))
  );
}

/** The build ABIs of a project's matrix, in order. */
function abisOf(data: ProjectData): string[] {
  return [...new Set(data.versions.flatMap((v) => Object.keys(v.abis)))].sort();
}

/** A cell of the version × ABI matrix. */
interface Cell {
  status: AbiStatus;
  text: string;
  logUrl: string | null;
}

function cellFor(v: VersionData, abi: string, skip: string): Cell {
  const status = v.abis[abi] ?? "pending";
  const last = v.builds.filter((b) => b.abiTag === abi).at(-1);
  const logUrl = last ? `/${logPath(last.buildId)}` : null;
  switch (status) {
    case "built":
      return last?.status
        ? { status, text: `built in ${last.duration}`, logUrl }
        : { status, text: "built (a wheel of another build installs here)", logUrl: null };
    case "failed":
      return { status, text: last ? `failed after ${last.duration}` : "failed", logUrl };
    case "skipped":
      return { status, text: `skipped: ${skip || v.skip}`, logUrl: null };
    case "pending":
      return { status, text: "pending", logUrl: null };
  }
}

/** The project page, `/project/<name>/index.html`. */
export async function renderProject(data: ProjectData, site: Site): Promise<string> {
  const abis = abisOf(data);
  const files = data.versions.flatMap((v) => v.files.map((f) => ({ f, v })));
  const apt = [...new Set(files.flatMap(({ f }) => f.dependencies.apt ?? []))].sort();
  return await render("project.vto", {
    ...common(site),
    name: data.name,
    package: data.package,
    aliases: [data.package, ...data.aliases].filter((a) => a !== data.name),
    description: data.description,
    skip: data.skip,
    priority: data.priority,
    apt,
    abis,
    downloadsRecent: number.format(data.downloadsRecent),
    downloadsAll: number.format(data.downloadsAll),
    plots: historyPlots(projectHistory(data), new Date(site.now.micros / 1000), ` of ${data.name}`),
    versions: data.versions.map((v) => ({
      version: v.version,
      released: v.released.toString().slice(0, 10),
      yanked: v.yanked,
      requiresPython: v.requiresPython ?? "",
      cells: abis.map((abi) => cellFor(v, abi, data.skip)),
    })),
    files: files.sort((a, b) => b.f.filename.localeCompare(a.f.filename)).map(({ f, v }) => ({
      filename: f.filename,
      filehash: f.filehash,
      yanked: v.yanked,
      url: `/simple/${data.package}/${f.filename}`,
      size: number.format(f.filesize),
      requiresPython: f.requiresPython ?? v.requiresPython ?? "",
      // the libraries no package owns (tool "") after the packages
      dependencies: Object.entries(f.dependencies).sort(([a], [b]) => (a ? 0 : 1) - (b ? 0 : 1))
        .map(([tool, pkgs]) => `${tool || "no package"}: ${pkgs.join(", ")}`).join("; "),
    })),
  });
}

/** A project's builds and downloads per day, from its data (no query of its own). */
function projectHistory(data: ProjectData): History {
  const builds = new Map<string, [number, number]>();
  for (const v of data.versions) {
    for (const b of v.builds) {
      const day = b.builtAt.toString().slice(0, 10);
      const counts = builds.get(day) ?? [0, 0];
      counts[b.status ? 0 : 1]++;
      builds.set(day, counts);
    }
  }
  return {
    builds: [...builds].map(([day, [ok, failed]]) => [day, ok, failed]),
    downloads: data.downloadsDaily,
  };
}

/** The project JSON, `/project/<name>/json/index.json`. */
export function projectJson(data: ProjectData): string {
  return JSON.stringify({
    package: data.package,
    name: data.name,
    aliases: data.aliases,
    summary: data.description,
    skip: data.skip || null,
    priority: data.priority,
    downloads: { recent: data.downloadsRecent, all: data.downloadsAll },
    releases: Object.fromEntries(data.versions.map((v) => [v.version, {
      released: v.released.toString(),
      yanked: v.yanked,
      skip: v.skip || null,
      requires_python: v.requiresPython,
      abis: v.abis,
      builds: v.builds.map((b) => ({
        build_id: b.buildId,
        abi: b.abiTag,
        status: b.status ? "success" : "failed",
        duration: b.duration.totalSeconds(),
        built_at: b.builtAt.toString(),
        log: `/${logPath(b.buildId)}`,
      })),
      files: v.files.map((f) => ({
        filename: f.filename,
        filesize: f.filesize,
        filehash: f.filehash,
        abi: f.abiTag,
        platform: f.platformTag,
        requires_python: f.requiresPython,
        dependencies: f.dependencies,
        url: `/simple/${data.package}/${f.filename}`,
      })),
    }])),
  });
}

/** The search index, `/packages.json`: `[[package, downloads last 30 days, all], …]`. */
export function searchIndex(counts: Record<string, [number, number]>): string {
  return JSON.stringify(
    Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)).map(([name, [recent, all]]) => [
      name,
      recent,
      all,
    ]),
  );
}
