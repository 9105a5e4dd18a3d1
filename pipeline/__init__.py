"""The Dask graph that turns a Sentinel-1 scene into slick polygons, for one scene and for many."""
