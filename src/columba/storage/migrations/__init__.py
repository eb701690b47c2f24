"""Numbered SQL migrations, the single source of the schema (see ``columba.storage.migrate``).

``NNNN_name.sql`` serves both dialects; ``NNNN_name.sqlite.sql`` and ``NNNN_name.postgresql.sql``
replace it for one dialect where the common subset of SQL cannot say what is needed.
"""
