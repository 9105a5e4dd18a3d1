"""The faces of slickwatch: the command line and the ASGI app (OGC API - Features, jobs, review)."""
