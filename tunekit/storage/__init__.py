"""The study database: opening it (SQLite hardened, PostgreSQL through outages), its URLs and
passwords, the study lock, full disks and read-only mounts. Private modules: ``_storage``
(connection, checks, settle, lock), ``_url`` (resolution, masking, the 'no study' message),
``_retry`` (RetryingRDBStorage, DatabaseUnreachable) and ``_sqlite_fs`` (SQLite files on real
file systems). The layers above import what they need from them by name."""
