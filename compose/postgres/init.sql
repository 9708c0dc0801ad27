-- Runs once, when the postgres service starts on an empty data directory
-- (the image runs everything in /docker-entrypoint-initdb.d as POSTGRES_USER).
-- The schema registry keeps its schemas in a database of its own.
CREATE DATABASE apicurio OWNER leaky;
