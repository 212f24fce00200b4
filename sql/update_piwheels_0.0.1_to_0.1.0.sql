-- Upgrades a piwheels database from schema version 0.0.1 to 0.1.0.
--
-- 1. Pending page rewrites survive a restart of the master: the rewrites_pending table and the
--    save_rewrites_pending function (the master reads the table directly).
-- 2. File hashes are lower-case hex, as the protocols carry them: existing hashes are
--    lower-cased, then a check constraint keeps them so. A hash that is not hex at all stops
--    the upgrade here; piw-initdb rolls everything back and names this statement.

UPDATE configuration SET version = '0.1.0';

CREATE TABLE rewrites_pending (
    package  varchar(200) NOT NULL,
    added_at timestamptz NOT NULL,
    command  varchar(8) NOT NULL,

    CONSTRAINT rewrites_pending_pk PRIMARY KEY (package),
    CONSTRAINT rewrites_pending_package_fk FOREIGN KEY (package)
        REFERENCES packages ON DELETE CASCADE,
    CONSTRAINT rewrites_pending_command_ck CHECK (command IN ('PKGPROJ', 'PKGBOTH'))
);

CREATE FUNCTION save_rewrites_pending(pending jsonb)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
BEGIN
    DELETE FROM rewrites_pending;
    INSERT INTO rewrites_pending (package, added_at, command)
    SELECT
        r.package,
        min(r.added_at),
        CASE WHEN bool_or(r.command = 'PKGBOTH') THEN 'PKGBOTH' ELSE min(r.command) END
    FROM
        jsonb_to_recordset(pending) AS r (package varchar, added_at timestamptz, command varchar)
        JOIN packages AS p ON p.package = r.package
    GROUP BY r.package;
END;
$$;

UPDATE files SET filehash = lower(filehash) WHERE filehash <> lower(filehash);

ALTER TABLE files ADD CONSTRAINT files_hash_ck CHECK (filehash ~ '^[0-9a-f]{64}$');
