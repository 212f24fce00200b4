-- Upgrades a piwheels database from schema version 0.4.0 to 0.5.0.
--
-- 1. A package keeps its first 16 spellings: every one gets a copy of the package's pages, each
--    listing them all, so a feed of new spellings made the pages grow with the square of their
--    number (3,000 spellings of one name: 3.3 GiB written on each rewrite of its pages).

UPDATE configuration SET version = '0.5.0';

-- Records a spelling of a known package's name, seen at the given time (its latest spelling
-- is the name it is shown by; a time earlier than the one recorded is ignored). A package keeps
-- its first 16 spellings: every one gets a copy of the package's pages, each listing them all,
-- so a feed of new spellings (any mix of letter cases) made the pages grow with the square of
-- their number. Raises no_data_found for a name of no known package.
CREATE OR REPLACE FUNCTION add_package_name(spelling varchar, seen_at timestamptz = NULL)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM FROM packages WHERE package = canon_name(spelling);
    PERFORM must_exist(FOUND, 'package ' || spelling);
    PERFORM pg_advisory_xact_lock(hashtext('package_names ' || canon_name(spelling)));
    INSERT INTO package_names (name, package, seen)
    SELECT spelling, canon_name(spelling), COALESCE(seen_at, '1970-01-01 00:00:00+00')
    WHERE
        EXISTS (SELECT FROM package_names AS n WHERE n.name = spelling)
        OR (SELECT count(*) FROM package_names AS n WHERE n.package = canon_name(spelling)) < 16
    ON CONFLICT (name) DO UPDATE SET seen = GREATEST(package_names.seen, excluded.seen);
END;
$$;
