"""The segmentation network: training, evaluation, the shipped weights and the predictor."""
