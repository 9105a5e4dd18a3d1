"""What a scene is and where to find it: ids, Scene, STAC, relevancy, the SAR simulator."""
