-- Upgrades a piwheels database from schema version 0.5.0 to 0.6.0.
--
-- 1. rewrites_pending becomes the journal of page rewrites owed: every change to what a
--    package's pages show owes one in its own transaction (owe_rewrite's triggers), and the
--    Scribe pays it (rewrites_done) once it has written pages showing it. A master killed after
--    logging a build, and before writing its pages, left them unwritten for good.

UPDATE configuration SET version = '0.6.0';

CREATE SEQUENCE rewrites_pending_seq;

ALTER TABLE rewrites_pending ADD COLUMN seq bigint DEFAULT nextval('rewrites_pending_seq') NOT NULL;

-- Owes a rewrite of the changed row's package's pages (the trigger's argument: PKGBOTH, or
-- PKGPROJ for the project page alone), in the same transaction as the change: a master killed
-- between a change and the pages' rewrite (or stopped with rewrites queued, or one that failed)
-- writes them at its next start, and the Scribe deletes the row once it has written pages that
-- show it (rewrites_done). A package being deleted owes nothing (its pages go with it).
CREATE FUNCTION owe_rewrite()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
AS $$
DECLARE
    pkg varchar := CASE TG_OP WHEN 'DELETE' THEN OLD.package ELSE NEW.package END;
BEGIN
    INSERT INTO rewrites_pending (package, added_at, command)
    SELECT p.package, CURRENT_TIMESTAMP, TG_ARGV[0] FROM packages AS p WHERE p.package = pkg
    ON CONFLICT (package) DO UPDATE SET
        seq = nextval('rewrites_pending_seq'),
        command = CASE
            WHEN excluded.command = 'PKGBOTH' THEN 'PKGBOTH' ELSE rewrites_pending.command
        END;
    RETURN NULL;
END;
$$;

CREATE TRIGGER packages_owe_rewrite AFTER INSERT ON packages
    FOR EACH ROW EXECUTE FUNCTION owe_rewrite('PKGBOTH');
CREATE TRIGGER packages_owe_rewrite_update AFTER UPDATE ON packages
    FOR EACH ROW
    WHEN (
        OLD.description IS DISTINCT FROM NEW.description OR OLD.skip IS DISTINCT FROM NEW.skip
        OR OLD.priority IS DISTINCT FROM NEW.priority
    )
    EXECUTE FUNCTION owe_rewrite('PKGPROJ');
CREATE TRIGGER package_names_owe_rewrite AFTER INSERT OR DELETE ON package_names
    FOR EACH ROW EXECUTE FUNCTION owe_rewrite('PKGBOTH');
CREATE TRIGGER versions_owe_rewrite AFTER INSERT OR DELETE ON versions
    FOR EACH ROW EXECUTE FUNCTION owe_rewrite('PKGBOTH');
CREATE TRIGGER versions_owe_rewrite_update AFTER UPDATE ON versions
    FOR EACH ROW
    WHEN (
        OLD.released IS DISTINCT FROM NEW.released OR OLD.skip IS DISTINCT FROM NEW.skip
        OR OLD.yanked IS DISTINCT FROM NEW.yanked
        OR OLD.requires_python IS DISTINCT FROM NEW.requires_python
    )
    EXECUTE FUNCTION owe_rewrite('PKGBOTH');
CREATE TRIGGER builds_owe_rewrite AFTER INSERT OR DELETE ON builds
    FOR EACH ROW EXECUTE FUNCTION owe_rewrite('PKGBOTH');

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
        'rewrite', (
            SELECT jsonb_build_object(
                'seq', r.seq, 'since', r.added_at, 'both', r.command = 'PKGBOTH'
            )
            FROM rewrites_pending AS r WHERE r.package = p.package
        ),
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


-- Owes the page rewrites of a JSON array of {package, added_at, command} (those the Secretary
-- had buffered when it stopped). Packages that no longer exist are dropped; a package named twice,
-- or owed already, keeps its earliest time and the larger rewrite (PKGBOTH covers PKGPROJ), and
-- a new seq: pages being written meanwhile do not pay it.
CREATE OR REPLACE FUNCTION save_rewrites_pending(pending jsonb)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
BEGIN
    INSERT INTO rewrites_pending (package, added_at, command)
    SELECT
        r.package,
        min(r.added_at),
        CASE WHEN bool_or(r.command = 'PKGBOTH') THEN 'PKGBOTH' ELSE min(r.command) END
    FROM
        jsonb_to_recordset(pending) AS r (package varchar, added_at timestamptz, command varchar)
        JOIN packages AS p ON p.package = r.package
    GROUP BY r.package
    ON CONFLICT (package) DO UPDATE SET
        added_at = LEAST(rewrites_pending.added_at, excluded.added_at),
        seq = nextval('rewrites_pending_seq'),
        command = CASE
            WHEN excluded.command = 'PKGBOTH' THEN 'PKGBOTH' ELSE rewrites_pending.command
        END;
END;
$$;


-- Pays owed rewrites: a JSON array of {package, seq}, each the seq a package's pages were
-- written from; a row whose seq has changed since (a later change) stays owed.
CREATE FUNCTION rewrites_done(done jsonb)
    RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    DELETE FROM rewrites_pending AS r
    USING jsonb_to_recordset(done) AS d (package varchar, seq bigint)
    WHERE r.package = d.package AND r.seq = d.seq;
$$;

