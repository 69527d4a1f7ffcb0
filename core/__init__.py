"""The pieces every stage shares: the user-facing error, config loading, file formats and reports."""
