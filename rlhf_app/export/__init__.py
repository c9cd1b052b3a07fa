"""Dataset exports: formats, aggregation, splits, dataset cards and the export folder."""
