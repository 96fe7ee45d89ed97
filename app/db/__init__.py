"""The database: engine and sessions, the schema's migrations, and the tables per feature."""
