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
    LANGUAGE sql STABLE
    SET search_path = public, pg_temp
AS $$
    SELECT f.filename, b.package, b.version
    FROM files AS f JOIN builds AS b ON b.build_id = f.build_id
    WHERE f.filename = ANY (names)
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

