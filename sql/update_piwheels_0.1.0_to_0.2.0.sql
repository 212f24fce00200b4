-- Upgrades a piwheels database from schema version 0.1.0 to 0.2.0.
--
-- 1. Build ABIs are the operator's (piw-abi), never created by a build slave's HELLO: each is
--    one PEP 425 tag. ABIs that are not (junk a slave's HELLO could register before) are
--    removed, with their queue entries; builds made for them stay.
-- 2. A file name belongs to one version: log_build refuses a name another version's build
--    holds, and a rebuild replaces the version's own earlier builds, returning the names of the
--    files that went with them.
-- 3. delete_build_abi, skip_build_abi and get_file_versions.
-- 4. The build queue's triggers do nothing for a statement that changed nothing, and log_build
--    refreshes its version's queue entries once instead of after each of its statements.
-- 5. One project per normalised name (PEP 503), as piwheels has it: packages are keyed by
--    canon_name(), each spelling PyPI used is kept in package_names, and a database that holds
--    a project under two spellings ("Tiny.Demo" and "tiny-demo", each with its own versions)
--    has them merged into one: every version, build, file, logged download and search of
--    either kept; a skip reason or description of either kept (the latest spelling's first);
--    a version known under both spellings kept once (first released, latest skip and yank).
--    Every merged project's pages are queued to be written again at the master's next start.
-- 6. The build queue in the order users need: the operator's priority (piw-add --priority),
--    then the project's popularity (refresh_popularity), then the newest release.
-- 7. update_version sets Requires-Python (from PyPI's JSON or simple API), update_package the
--    priority; get_project_data gives the name pages show and the other spellings.

UPDATE configuration SET version = '0.2.0';

DELETE FROM build_abis WHERE abi_tag !~ '^[A-Za-z0-9_]{1,100}$';
ALTER TABLE build_abis ADD CONSTRAINT build_abis_tag_ck CHECK (abi_tag ~ '^[A-Za-z0-9_]{1,100}$');

DROP FUNCTION log_build(integer, varchar, varchar, varchar, boolean, interval, text, jsonb);

-- The trigger function of every table the rule reads: it refreshes the versions the
-- statement touched, from its transition table, which every trigger below names "changed"
-- (each branch only runs on the table it names). A statement that changed nothing costs
-- nothing, and log_build, which changes several tables for one version, defers the refresh
-- (piw.queue_deferred) and does it once itself.
CREATE OR REPLACE FUNCTION queue_changed()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
AS $$
BEGIN
    IF current_setting('piw.queue_deferred', true) = 'on'
        OR NOT EXISTS (SELECT FROM changed) THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'packages' THEN
        PERFORM queue_refresh(array_agg(v.package), array_agg(v.version))
        FROM changed AS c JOIN versions AS v ON v.package = c.package;
    ELSIF TG_TABLE_NAME = 'files' THEN
        PERFORM queue_refresh(array_agg(b.package), array_agg(b.version))
        FROM (SELECT DISTINCT build_id FROM changed) AS c
        JOIN builds AS b ON b.build_id = c.build_id;
    ELSE -- versions, builds
        PERFORM queue_refresh(array_agg(c.package), array_agg(c.version)) FROM changed AS c;
    END IF;
    RETURN NULL;
END;
$$;


-- Records a build with its output and files; returns the new build's id and the names of the
-- files that went with the builds it replaced. built_files is a JSON array of objects with the
-- columns of files (but build_id) and "dependencies", an object {tool: [package, ...]}.
-- A file name belongs to one version: a name another version's build holds is refused
-- (unique_violation), so that no build can replace another release's published file. A
-- successful build replaces the version's earlier builds for the same ABI and any of its builds
-- whose files it holds again (a rebuild, or a re-import); a failed one replaces earlier failures
-- for its ABI.
CREATE FUNCTION log_build(
    slave integer,
    pkg varchar,
    ver varchar,
    abi varchar,
    succeeded boolean,
    took interval,
    log text,
    built_files jsonb
)
    RETURNS TABLE (build_id bigint, removed varchar[])
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    new_id bigint;
    gone varchar[];
    taken record;
BEGIN
    PERFORM set_config('piw.queue_deferred', 'on', true);
    SELECT f.filename, b.package, b.version INTO taken
    FROM
        jsonb_to_recordset(built_files) AS n (filename varchar)
        JOIN files AS f ON f.filename = n.filename
        JOIN builds AS b ON b.build_id = f.build_id
    WHERE b.package <> pkg OR b.version <> ver
    LIMIT 1;
    IF FOUND THEN
        RAISE unique_violation USING MESSAGE = format(
            '%s belongs to %s %s, not to %s %s', taken.filename, taken.package, taken.version,
            pkg, ver
        );
    END IF;
    WITH old AS (
        DELETE FROM builds AS b
        WHERE
            b.package = pkg AND b.version = ver
            AND (
                (b.abi_tag = abi AND (succeeded OR NOT b.status))
                OR EXISTS (
                    SELECT FROM
                        files AS f
                        JOIN jsonb_to_recordset(built_files) AS n (filename varchar)
                            ON n.filename = f.filename
                    WHERE f.build_id = b.build_id
                )
            )
        RETURNING b.build_id
    )
    SELECT COALESCE(array_agg(f.filename), '{}') INTO gone
    FROM old JOIN files AS f ON f.build_id = old.build_id
    WHERE NOT EXISTS (
        SELECT FROM jsonb_to_recordset(built_files) AS n (filename varchar)
        WHERE n.filename = f.filename
    );
    INSERT INTO builds (package, version, built_by, duration, status, abi_tag)
    VALUES (pkg, ver, slave, took, succeeded, abi)
    RETURNING builds.build_id INTO new_id;
    INSERT INTO output (build_id, output) VALUES (new_id, log);
    INSERT INTO files (
        filename, build_id, filesize, filehash, package_tag, package_version_tag,
        py_version_tag, abi_tag, platform_tag, requires_python, metadata_sha256
    )
    SELECT
        f.filename, new_id, f.filesize, f.filehash, f.package_tag, f.package_version_tag,
        f.py_version_tag, f.abi_tag, f.platform_tag, f.requires_python, f.metadata_sha256
    FROM jsonb_to_recordset(built_files) AS f (
        filename varchar, filesize bigint, filehash char(64), package_tag varchar,
        package_version_tag varchar, py_version_tag varchar, abi_tag varchar,
        platform_tag varchar, requires_python varchar, metadata_sha256 char(64)
    );
    INSERT INTO dependencies (filename, tool, dependency)
    SELECT DISTINCT f.filename, t.tool, n.name
    FROM
        jsonb_to_recordset(built_files) AS f (filename varchar, dependencies jsonb)
        CROSS JOIN LATERAL jsonb_each(f.dependencies) AS t (tool, names)
        CROSS JOIN LATERAL jsonb_array_elements_text(t.names) AS n (name);
    PERFORM set_config('piw.queue_deferred', 'off', true);
    PERFORM queue_refresh(ARRAY[pkg], ARRAY[ver]);
    RETURN QUERY SELECT new_id, gone;
END;
$$;

-- The versions the named files belong to, for those that are known.
CREATE FUNCTION get_file_versions(names varchar[])
    RETURNS TABLE (filename varchar, package varchar, version varchar)
    LANGUAGE plpgsql STABLE
    SET search_path = public, pg_temp
AS $$
BEGIN
    -- PL/pgSQL keeps the plan per session: an SQL function is planned again on every call
    RETURN QUERY
    SELECT f.filename, b.package, b.version
    FROM files AS f JOIN builds AS b ON b.build_id = f.build_id
    WHERE f.filename = ANY (names);
END;
$$;

-- Removes a build ABI (its queue goes with it; its builds stay); true when it existed.
CREATE FUNCTION delete_build_abi(abi varchar)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
BEGIN
    DELETE FROM build_abis WHERE abi_tag = abi;
    RETURN FOUND;
END;
$$;

-- Sets a build ABI's skip reason ('' builds it again); true when it exists.
CREATE FUNCTION skip_build_abi(abi varchar, reason varchar)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
BEGIN
    UPDATE build_abis SET skip = reason WHERE abi_tag = abi;
    RETURN FOUND;
END;
$$;

-- 4. One project per normalised name -------------------------------------------------------

-- PEP 503's normal form of a project name.
CREATE FUNCTION canon_name(name varchar)
    RETURNS varchar
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT lower(regexp_replace(name, '[-_.]+', '-', 'g'))
$$;

ALTER TABLE versions DROP CONSTRAINT versions_package_fk;
ALTER TABLE builds DROP CONSTRAINT builds_versions_fk;
ALTER TABLE build_queue DROP CONSTRAINT build_queue_versions_fk;
ALTER TABLE rewrites_pending DROP CONSTRAINT rewrites_pending_package_fk;
ALTER TABLE packages DISABLE TRIGGER USER;
ALTER TABLE versions DISABLE TRIGGER USER;
ALTER TABLE builds DISABLE TRIGGER USER;
DELETE FROM build_queue;

-- every spelling, seen when its latest release was
CREATE TEMPORARY TABLE spellings ON COMMIT DROP AS
SELECT p.package AS name, canon_name(p.package) AS package,
       COALESCE(max(v.released), '1970-01-01 00:00:00+00') AS seen
FROM packages AS p LEFT JOIN versions AS v ON v.package = p.package
GROUP BY p.package;

-- the packages to rewrite: every spelling of a project known by more than one, or by one
-- that is not its normal form
CREATE TEMPORARY TABLE renamed ON COMMIT DROP AS
SELECT s.name AS old, s.package AS new, s.seen
FROM spellings AS s
WHERE s.package IN (
    SELECT package FROM spellings GROUP BY package HAVING count(*) > 1 OR bool_or(name <> package)
);

CREATE TEMPORARY TABLE merged_packages ON COMMIT DROP AS
SELECT
    r.new AS package,
    COALESCE((array_agg(p.skip ORDER BY r.seen DESC, r.old) FILTER (WHERE p.skip <> ''))[1], '')
        AS skip,
    COALESCE(
        (array_agg(p.description ORDER BY r.seen DESC, r.old) FILTER (WHERE p.description <> ''))[1],
        ''
    ) AS description
FROM renamed AS r JOIN packages AS p ON p.package = r.old
GROUP BY r.new;

CREATE TEMPORARY TABLE merged_versions ON COMMIT DROP AS
SELECT
    r.new AS package,
    v.version,
    min(v.released) AS released,
    COALESCE(
        (array_agg(v.skip ORDER BY v.released DESC, r.old) FILTER (WHERE v.skip <> ''))[1], ''
    ) AS skip,
    (array_agg(v.yanked ORDER BY v.released DESC, r.old))[1] AS yanked,
    (array_agg(v.requires_python ORDER BY v.released DESC, r.old)
        FILTER (WHERE v.requires_python IS NOT NULL))[1] AS requires_python
FROM renamed AS r JOIN versions AS v ON v.package = r.old
GROUP BY r.new, v.version;

CREATE TEMPORARY TABLE merged_rewrites ON COMMIT DROP AS
SELECT r.new AS package, COALESCE(min(w.added_at), CURRENT_TIMESTAMP) AS added_at
FROM renamed AS r LEFT JOIN rewrites_pending AS w ON w.package = r.old
GROUP BY r.new;

DELETE FROM rewrites_pending AS w USING renamed AS r WHERE w.package = r.old;
DELETE FROM versions AS v USING renamed AS r WHERE v.package = r.old;
DELETE FROM packages AS p USING renamed AS r WHERE p.package = r.old;
INSERT INTO packages (package, skip, description)
SELECT package, skip, description FROM merged_packages;
INSERT INTO versions (package, version, released, skip, yanked, requires_python)
SELECT package, version, released, skip, yanked, requires_python FROM merged_versions;
INSERT INTO rewrites_pending (package, added_at, command)
SELECT package, added_at, 'PKGBOTH' FROM merged_rewrites;
UPDATE builds AS b SET package = r.new FROM renamed AS r WHERE b.package = r.old AND r.old <> r.new;
UPDATE downloads AS d SET package = r.new
FROM renamed AS r WHERE d.package = r.old AND r.old <> r.new;
UPDATE searches AS s SET package = r.new
FROM renamed AS r WHERE s.package = r.old AND r.old <> r.new;

ALTER TABLE packages
    ADD COLUMN priority smallint DEFAULT 0 NOT NULL,
    ADD COLUMN popularity smallint DEFAULT 0 NOT NULL,
    ADD CONSTRAINT packages_canon_ck CHECK (package = canon_name(package));

CREATE TABLE package_names (
    name    varchar(200) NOT NULL,
    package varchar(200) NOT NULL,
    seen    timestamptz DEFAULT '1970-01-01 00:00:00+00' NOT NULL,

    CONSTRAINT package_names_pk PRIMARY KEY (name),
    CONSTRAINT package_names_package_fk FOREIGN KEY (package)
        REFERENCES packages ON DELETE CASCADE,
    CONSTRAINT package_names_canon_ck CHECK (canon_name(name) = package)
);

CREATE INDEX package_names_package ON package_names (package, seen DESC);

INSERT INTO package_names (name, package, seen) SELECT name, package, seen FROM spellings;

ALTER TABLE build_queue
    ADD COLUMN priority smallint NOT NULL,
    ADD COLUMN popularity smallint NOT NULL;
DROP INDEX build_queue_order;
CREATE INDEX build_queue_order
    ON build_queue (abi_tag, priority DESC, popularity DESC, released DESC, package, version);

ALTER TABLE versions ADD CONSTRAINT versions_package_fk FOREIGN KEY (package)
    REFERENCES packages ON DELETE CASCADE;
ALTER TABLE builds ADD CONSTRAINT builds_versions_fk FOREIGN KEY (package, version)
    REFERENCES versions ON DELETE CASCADE;
ALTER TABLE build_queue ADD CONSTRAINT build_queue_versions_fk FOREIGN KEY (package, version)
    REFERENCES versions ON DELETE CASCADE;
ALTER TABLE rewrites_pending ADD CONSTRAINT rewrites_pending_package_fk FOREIGN KEY (package)
    REFERENCES packages ON DELETE CASCADE;

DROP VIEW builds_pending;

CREATE VIEW builds_pending AS
SELECT a.abi_tag, v.package, v.version, v.released, p.priority, p.popularity
FROM
    versions AS v
    JOIN packages AS p ON p.package = v.package
    CROSS JOIN LATERAL (
        SELECT
            e.abi_tag,
            row_number() OVER (
                ORDER BY substring(e.abi_tag FROM '[0-9]+')::numeric NULLS LAST, e.abi_tag
            ) AS turn
        FROM build_abis AS e
        WHERE
            e.skip = ''
            AND NOT EXISTS (
                SELECT FROM builds AS b
                WHERE b.package = v.package AND b.version = v.version AND b.abi_tag = e.abi_tag
            )
            AND NOT EXISTS (
                SELECT FROM builds AS b JOIN files AS f ON f.build_id = b.build_id
                WHERE
                    b.package = v.package AND b.version = v.version
                    AND file_covers(f.abi_tag, f.py_version_tag, e.abi_tag)
            )
    ) AS a
WHERE
    v.skip = ''
    AND p.skip = ''
    AND (
        a.turn = 1
        OR EXISTS (
            SELECT FROM builds AS b JOIN files AS f ON f.build_id = b.build_id
            WHERE b.package = v.package AND b.version = v.version AND f.abi_tag <> 'none'
        )
    );

-- Recomputes the queue rows of the given versions. Refreshes are serialised by one advisory
-- lock, and each statement after it sees every refresh committed before: two builds of one
-- version logged at once cannot leave a stale row behind. The plans are generic (made once
-- per session): planning the rule takes five times longer than running it for one version.
CREATE OR REPLACE FUNCTION queue_refresh(pkgs varchar[], vers varchar[])
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
    SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(5045505); -- 'PIW' + 5: the build queue's lock
    DELETE FROM build_queue AS q
    USING unnest(pkgs, vers) AS k (package, version)
    WHERE q.package = k.package AND q.version = k.version;
    INSERT INTO build_queue (abi_tag, package, version, released, priority, popularity)
    SELECT p.abi_tag, p.package, p.version, p.released, p.priority, p.popularity
    FROM
        (SELECT DISTINCT * FROM unnest(pkgs, vers) AS k (package, version)) AS k
        JOIN builds_pending AS p ON p.package = k.package AND p.version = k.version;
END;
$$;

-- Recomputes the whole queue (an ABI was added, skipped or removed, or a table truncated).
CREATE OR REPLACE FUNCTION queue_rebuild()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(5045505);
    DELETE FROM build_queue;
    INSERT INTO build_queue (abi_tag, package, version, released, priority, popularity)
    SELECT abi_tag, package, version, released, priority, popularity FROM builds_pending;
    RETURN NULL;
END;
$$;

-- The first per_abi entries of each active ABI's queue, in the order to build them.
CREATE OR REPLACE FUNCTION get_build_queue(per_abi integer)
    RETURNS TABLE (abi_tag varchar, package varchar, version varchar)
    LANGUAGE sql STABLE
    SET search_path = public, pg_temp
AS $$
    SELECT a.abi_tag, q.package, q.version
    FROM
        build_abis AS a
        LEFT JOIN LATERAL (
            SELECT q.package, q.version, q.released, q.priority, q.popularity
            FROM build_queue AS q
            WHERE q.abi_tag = a.abi_tag
            ORDER BY q.priority DESC, q.popularity DESC, q.released DESC, q.package, q.version
            LIMIT per_abi
        ) AS q ON true
    WHERE a.skip = ''
    ORDER BY
        a.abi_tag, q.priority DESC, q.popularity DESC, q.released DESC, q.package, q.version
$$;

ALTER TABLE packages ENABLE TRIGGER USER;
ALTER TABLE versions ENABLE TRIGGER USER;
ALTER TABLE builds ENABLE TRIGGER USER;

INSERT INTO build_queue (abi_tag, package, version, released, priority, popularity)
SELECT abi_tag, package, version, released, priority, popularity FROM builds_pending;

-- The name a package is shown by: the spelling PyPI used last (its normal form when none).
CREATE FUNCTION display_name(pkg varchar)
    RETURNS varchar
    LANGUAGE sql STABLE
    SET search_path = public, pg_temp
AS $$
    SELECT COALESCE((
        SELECT n.name FROM package_names AS n
        WHERE n.package = pkg
        ORDER BY n.seen DESC, n.name
        LIMIT 1
    ), pkg)
$$;

-- Every package (by the name it is shown by) with its downloads in the last 30 days and in all.
CREATE OR REPLACE FUNCTION get_search_index()
    RETURNS TABLE (package varchar, downloads_recent bigint, downloads_all bigint)
    LANGUAGE sql STABLE
    SET search_path = public, pg_temp
AS $$
    SELECT display_name(p.package), COALESCE(d.recent, 0), COALESCE(d.total, 0)
    FROM
        packages AS p
        LEFT JOIN (
            SELECT
                package,
                count(*) FILTER (WHERE accessed_at > CURRENT_TIMESTAMP - interval '30 days'),
                count(*)
            FROM downloads
            WHERE package IS NOT NULL
            GROUP BY package
        ) AS d (package, recent, total) ON d.package = p.package
    ORDER BY p.package
$$;

-- Everything a project page shows, as one JSON document (NULL for an unknown package): the
-- package (its normal form, the name it is shown by, and its other spellings), its downloads
-- (in the last 30 days, ever, and per day of the last 30), and each version (newest release first) with its state per active ABI ('built', 'failed',
-- 'skipped' or 'pending'), its builds and its files with their dependencies.
CREATE OR REPLACE FUNCTION get_project_data(pkg varchar)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = public, pg_temp
AS $$
BEGIN
    RETURN (SELECT jsonb_build_object(
        'package', p.package,
        'name', display_name(p.package),
        'aliases', COALESCE((
            SELECT jsonb_agg(n.name ORDER BY n.name)
            FROM package_names AS n
            WHERE n.package = p.package AND n.name <> p.package
        ), '[]'),
        'description', p.description,
        'skip', p.skip,
        'priority', p.priority,
        'downloads_recent', (
            SELECT count(*) FROM downloads AS d
            WHERE d.package = p.package AND d.accessed_at > CURRENT_TIMESTAMP - interval '30 days'
        ),
        'downloads_all', (SELECT count(*) FROM downloads AS d WHERE d.package = p.package),
        'downloads_daily', COALESCE((
            SELECT jsonb_agg(jsonb_build_array(t.day, t.n) ORDER BY t.day)
            FROM (
                SELECT to_char(d.accessed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*)
                FROM downloads AS d
                WHERE d.package = p.package AND d.accessed_at > CURRENT_TIMESTAMP - interval '30 days'
                GROUP BY 1
            ) AS t (day, n)
        ), '[]'),
        'versions', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                'version', v.version,
                'released', v.released,
                'skip', v.skip,
                'yanked', v.yanked,
                'requires_python', v.requires_python,
                'abis', (
                    SELECT COALESCE(jsonb_object_agg(a.abi_tag, CASE
                        WHEN EXISTS (
                            SELECT FROM builds AS b JOIN files AS f ON f.build_id = b.build_id
                            WHERE
                                b.package = v.package AND b.version = v.version
                                AND file_covers(f.abi_tag, f.py_version_tag, a.abi_tag)
                        ) THEN 'built'
                        WHEN EXISTS (
                            SELECT FROM builds AS b
                            WHERE
                                b.package = v.package AND b.version = v.version
                                AND b.abi_tag = a.abi_tag
                        ) THEN 'failed'
                        WHEN v.skip <> '' OR p.skip <> '' THEN 'skipped'
                        ELSE 'pending'
                    END), '{}')
                    FROM build_abis AS a
                    WHERE a.skip = ''
                ),
                'builds', COALESCE((
                    SELECT jsonb_agg(jsonb_build_object(
                        'build_id', b.build_id,
                        'abi_tag', b.abi_tag,
                        'status', b.status,
                        'built_by', b.built_by,
                        'built_at', b.built_at,
                        'duration', b.duration
                    ) ORDER BY b.built_at, b.build_id)
                    FROM builds AS b
                    WHERE b.package = v.package AND b.version = v.version
                ), '[]'),
                'files', COALESCE((
                    SELECT jsonb_agg(jsonb_build_object(
                        'filename', f.filename,
                        'build_id', f.build_id,
                        'filesize', f.filesize,
                        'filehash', f.filehash,
                        'package_tag', f.package_tag,
                        'package_version_tag', f.package_version_tag,
                        'py_version_tag', f.py_version_tag,
                        'abi_tag', f.abi_tag,
                        'platform_tag', f.platform_tag,
                        'requires_python', f.requires_python,
                        'metadata_sha256', f.metadata_sha256,
                        'dependencies', (
                            SELECT COALESCE(jsonb_object_agg(t.tool, t.names), '{}')
                            FROM (
                                SELECT d.tool, jsonb_agg(d.dependency ORDER BY d.dependency)
                                FROM dependencies AS d
                                WHERE d.filename = f.filename
                                GROUP BY d.tool
                            ) AS t (tool, names)
                        )
                    ) ORDER BY f.filename)
                    FROM builds AS b JOIN files AS f ON f.build_id = b.build_id
                    WHERE b.package = v.package AND b.version = v.version
                ), '[]')
            ) ORDER BY v.released DESC, v.version DESC)
            FROM versions AS v
            WHERE v.package = p.package
        ), '[]')
    )
    FROM packages AS p
    WHERE p.package = pkg);
END;
$$;

-- Records a spelling of a known package's name, seen at the given time (its latest spelling
-- is the name it is shown by; a time earlier than the one recorded is ignored). Raises
-- no_data_found for a name of no known package.
CREATE FUNCTION add_package_name(spelling varchar, seen_at timestamptz = NULL)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM FROM packages WHERE package = canon_name(spelling);
    PERFORM must_exist(FOUND, 'package ' || spelling);
    INSERT INTO package_names (name, package, seen)
    VALUES (spelling, canon_name(spelling), COALESCE(seen_at, '1970-01-01 00:00:00+00'))
    ON CONFLICT (name) DO UPDATE SET seen = GREATEST(package_names.seen, excluded.seen);
END;
$$;

DROP FUNCTION add_new_package(varchar, varchar, text);

-- A package PyPI told us about, by any spelling of its name (which is recorded as seen at
-- seen_at, or now); true when the package was new.
CREATE FUNCTION add_new_package(
    spelling varchar,
    reason varchar = '',
    descr text = '',
    seen_at timestamptz = NULL
)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    added boolean;
BEGIN
    INSERT INTO packages (package, skip, description) VALUES (canon_name(spelling), reason, descr)
    ON CONFLICT DO NOTHING;
    added := FOUND;
    PERFORM add_package_name(spelling, COALESCE(seen_at, CURRENT_TIMESTAMP));
    RETURN added;
END;
$$;

DROP FUNCTION add_new_package_version(varchar, varchar, timestamptz, varchar, varchar);

-- A release PyPI told us about, by any spelling of its project's name (recorded as seen when
-- the release was); true when it was new.
CREATE FUNCTION add_new_package_version(
    spelling varchar,
    ver varchar,
    released timestamptz,
    reason varchar = '',
    requires varchar = NULL
)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM add_package_name(spelling, released);
    INSERT INTO versions (package, version, released, skip, requires_python)
    VALUES (canon_name(spelling), ver, released, reason, requires)
    ON CONFLICT DO NOTHING;
    RETURN FOUND;
END;
$$;

DROP FUNCTION update_package(varchar, text, varchar);

-- Sets a package's description, skip reason ('' builds it again) and/or priority; NULL leaves
-- each as it is.
CREATE FUNCTION update_package(
    pkg varchar,
    descr text = NULL,
    reason varchar = NULL,
    prio smallint = NULL
)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
BEGIN
    UPDATE packages
    SET
        description = COALESCE(descr, description),
        skip = COALESCE(reason, skip),
        priority = COALESCE(prio, priority)
    WHERE package = pkg;
    PERFORM must_exist(FOUND, 'package ' || pkg);
END;
$$;

DROP FUNCTION update_version(varchar, varchar, varchar, boolean);

-- Sets a version's skip reason ('' builds it again), whether it is yanked (PEP 592) and/or
-- its Requires-Python; NULL leaves each as it is.
CREATE FUNCTION update_version(
    pkg varchar,
    ver varchar,
    reason varchar = NULL,
    yank boolean = NULL,
    requires varchar = NULL
)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
BEGIN
    UPDATE versions
    SET
        skip = COALESCE(reason, skip),
        yanked = COALESCE(yank, yanked),
        requires_python = COALESCE(requires, requires_python)
    WHERE package = pkg AND version = ver;
    PERFORM must_exist(FOUND, format('version %s %s', pkg, ver));
END;
$$;

-- Sets each package's popularity to how much it was downloaded in the last 30 days, by order
-- of magnitude: floor(log2(1 + downloads)), so 0 for none, 1 for one, 10 for about a thousand.
-- Buckets rather than counts, so that release time still orders projects of like popularity,
-- and so that only the packages whose bucket changed (and their queue entries) are written.
-- Returns how many packages changed.
CREATE FUNCTION refresh_popularity()
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    changed integer;
BEGIN
    WITH counted AS (
        SELECT p.package, COALESCE(floor(log(2, 1 + d.n) + 0.000001), 0)::smallint AS popularity
        FROM
            packages AS p
            LEFT JOIN (
                SELECT package, count(*)::numeric
                FROM downloads
                WHERE package IS NOT NULL AND accessed_at > CURRENT_TIMESTAMP - interval '30 days'
                GROUP BY package
            ) AS d (package, n) ON d.package = p.package
    )
    UPDATE packages AS p SET popularity = c.popularity
    FROM counted AS c
    WHERE p.package = c.package AND p.popularity <> c.popularity;
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END;
$$;
