-- Upgrades a piwheels database from schema version 0.2.0 to 0.3.0.
--
-- 1. A file's dependencies may name the tool '' (the empty name): deployed slaves list there the
--    libraries no Debian package owns, by path, as piwheels' own schema allows; 0.2.0 refused
--    them, and so every such build.

UPDATE configuration SET version = '0.3.0';

ALTER TABLE dependencies DROP CONSTRAINT dependencies_tool_ck;
ALTER TABLE dependencies ADD CONSTRAINT dependencies_tool_ck CHECK (tool ~ '^[a-z0-9_-]{0,32}$');
