/**
 * The version of piwheels for Deno, read from `deno.json` so it is declared once. The master
 * checks that the database schema matches it.
 *
 * @module
 */

import meta from "../deno.json" with { type: "json" };

/** The software version (`deno.json` "version"). */
export const VERSION: string = meta.version;
