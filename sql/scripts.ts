/**
 * The schema scripts, imported as text so that they travel inside bundles and compiled tools
 * (no file system access needed), and the schema version they lead to.
 *
 * Every script that changes the schema is listed here; `scripts_test.ts` checks this list
 * against the directory, and that the chain ends at {@linkcode SCHEMA_VERSION}.
 *
 * @module
 */

import create from "./create_piwheels.sql" with { type: "text" };
import update_0_0_1 from "./update_piwheels_0.0.1_to_0.1.0.sql" with { type: "text" };
import update_0_1_0 from "./update_piwheels_0.1.0_to_0.2.0.sql" with { type: "text" };
import update_0_2_0 from "./update_piwheels_0.2.0_to_0.3.0.sql" with { type: "text" };
import update_0_3_0 from "./update_piwheels_0.3.0_to_0.4.0.sql" with { type: "text" };
import update_0_4_0 from "./update_piwheels_0.4.0_to_0.5.0.sql" with { type: "text" };
import update_0_5_0 from "./update_piwheels_0.5.0_to_0.6.0.sql" with { type: "text" };
import update_0_6_0 from "./update_piwheels_0.6.0_to_0.7.0.sql" with { type: "text" };

/** An SQL script and the name errors call it by. */
export interface Script {
  /** The file name, e.g. `create_piwheels.sql`. */
  readonly name: string;
  /** The SQL. */
  readonly text: string;
}

/** An upgrade script, from one schema version to the next. */
export interface UpdateScript extends Script {
  /** The schema version it upgrades from. */
  readonly from: string;
  /** The schema version it leaves. */
  readonly to: string;
}

/**
 * The schema version this software creates and requires. It changes only when the schema
 * does: a release that leaves the schema alone keeps the previous schema version, and its
 * master runs on a database piw-initdb made for that.
 */
export const SCHEMA_VERSION = "0.7.0";

/** The script that creates the current schema in an empty database. */
export const CREATE_SCRIPT: Script = { name: "create_piwheels.sql", text: create };

/** The upgrade scripts, each from one schema version to the next, oldest first. */
export const UPDATE_SCRIPTS: readonly UpdateScript[] = [
  {
    name: "update_piwheels_0.0.1_to_0.1.0.sql",
    from: "0.0.1",
    to: "0.1.0",
    text: update_0_0_1,
  },
  {
    name: "update_piwheels_0.1.0_to_0.2.0.sql",
    from: "0.1.0",
    to: "0.2.0",
    text: update_0_1_0,
  },
  {
    name: "update_piwheels_0.2.0_to_0.3.0.sql",
    from: "0.2.0",
    to: "0.3.0",
    text: update_0_2_0,
  },
  {
    name: "update_piwheels_0.3.0_to_0.4.0.sql",
    from: "0.3.0",
    to: "0.4.0",
    text: update_0_3_0,
  },
  {
    name: "update_piwheels_0.4.0_to_0.5.0.sql",
    from: "0.4.0",
    to: "0.5.0",
    text: update_0_4_0,
  },
  {
    name: "update_piwheels_0.5.0_to_0.6.0.sql",
    from: "0.5.0",
    to: "0.6.0",
    text: update_0_5_0,
  },
  {
    name: "update_piwheels_0.6.0_to_0.7.0.sql",
    from: "0.6.0",
    to: "0.7.0",
    text: update_0_6_0,
  },
];
