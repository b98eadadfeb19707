"""FaceSeal's benchmarks: each figure a ratio against a bare baseline measured in the same run."""
