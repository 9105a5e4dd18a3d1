"""The database: models, migrations, SQL functions, review operations and the private PostGIS."""
