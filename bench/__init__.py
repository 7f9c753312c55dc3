"""Speed measured as ratios against what a learner would use instead (``python -m bench``)."""
