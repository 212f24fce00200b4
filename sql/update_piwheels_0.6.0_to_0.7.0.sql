-- Upgrades a piwheels database from schema version 0.6.0 to 0.7.0.
--
-- 1. A file sent again (a rebuild, or a re-import) moves to the new build on its own: log_build
--    used to delete every build holding one, with its other files, so re-importing one wheel of
--    a multi-wheel build deleted the build's other wheels from the database and the disk.

UPDATE configuration SET version = '0.7.0';

-- Records a build with its output and files; returns the new build's id and the names of the
-- files that went with the builds it replaced. built_files is a JSON array of objects with the
-- columns of files (but build_id) and "dependencies", an object {tool: [package, ...]}.
-- A file name belongs to one version: a name another version's build holds is refused
-- (unique_violation), so that no build can replace another release's published file. A file
-- the version's builds hold already (a rebuild, or a re-import) moves to the new build, as
-- piwheels 0.16 replaced files of the same names: the build that held it keeps its other files,
-- and goes only once it holds none. A slave's successful build also replaces the version's
-- earlier builds for its ABI, and a slave's failed one earlier failures for its ABI. An import
-- (slave 0) replaces nothing else: wheels imported one at a time for one ABI (other platforms,
-- say) all stay, and so do the other wheels of a build one of which is imported again.
CREATE OR REPLACE FUNCTION log_build(
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
    held bigint[];
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
    -- the files sent again leave the builds that held them (the new build takes them below)
    WITH moved AS (
        DELETE FROM files AS f
        USING jsonb_to_recordset(built_files) AS n (filename varchar)
        WHERE f.filename = n.filename
        RETURNING f.build_id
    )
    SELECT COALESCE(array_agg(DISTINCT moved.build_id), '{}') INTO held FROM moved;
    -- a build goes when a slave's build replaces it, or when the files it held all moved
    WITH old AS (
        DELETE FROM builds AS b
        WHERE
            b.package = pkg AND b.version = ver
            AND (
                (slave <> 0 AND b.abi_tag = abi AND (succeeded OR NOT b.status))
                OR (
                    b.build_id = ANY (held)
                    AND NOT EXISTS (SELECT FROM files AS f WHERE f.build_id = b.build_id)
                )
            )
        RETURNING b.build_id
    )
    SELECT COALESCE(array_agg(f.filename), '{}') INTO gone
    FROM old JOIN files AS f ON f.build_id = old.build_id;
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
