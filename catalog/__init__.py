"""What a scene is and where to find it: ids, the Scene record, STAC, relevancy, the SAR simulator."""
