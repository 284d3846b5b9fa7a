-- The raw layer: what `callmart ingest` writes. Created if missing, never dropped.
-- This file holds the schema, the quarantine and the load log; the tables payloads flatten
-- into (raw.dialpad_call_events, raw.messagebird_calls, raw.messagebird_legs) are declared
-- column by column in ingest/raw_tables.py, which generates their DDL after this file's.
-- Unix-ms dates stay BIGINT here (as delivered); staging turns them into timestamps.
-- Empty values (null, "", "0", 0, {}, []) of ids, texts, dates, objects and lists are NULL;
-- numeric measures (duration, hold_time, ...) keep 0.
--
-- Identity hashes are unique by construction (a load inserts only hashes not stored yet), not
-- by a primary key: DuckDB keeps a key's whole index in memory, which at tens of millions of
-- events would cost more than the load itself. Payload texts use DuckDB's default compression
-- (FSST), not zstd: zstd columns need storage format 1.2, and the warehouse stays in DuckDB
-- 1.1's so that any BI tool's DuckDB opens it (docs/contract.md §10; ingest/publish.py). zstd
-- stored them in less than half the space (the bundled simulator's 226k events: 48 MB, 111 MB
-- without).

create schema if not exists raw;

-- raw.quarantine is the dead-letter queue (docs/operations.md): a row is open until a later
-- load or `callmart quarantine retry` loads what it held (released_at, released_load_id).
-- A failed file (unreadable_file, corrupt_gzip, invalid_json_document) is one row with
-- source_line 0, no text, and the file's size and content hash.
create table if not exists raw.quarantine (
    source_file                varchar not null,
    source_line                bigint not null,   -- 0 for a failed file
    raw_text                   varchar not null,  -- '' for a failed file
    raw_hash                   varchar not null,  -- sha256 of raw_text (of the file, for a failed file): a re-read adds no row
    reason                     varchar not null,  -- a QuarantineReason code (the latest attempt's)
    detail                     varchar,
    load_id                    varchar not null,
    loaded_at                  timestamp not null
);

create table if not exists raw.load_log (
    load_id                    varchar not null,
    path                       varchar not null,
    file_sha256                varchar not null,  -- of the whole file as read
    file_bytes                 bigint not null,
    start_offset               bigint not null,   -- > 0 when only a grown file's tail was read
    end_line                   bigint not null,   -- last line (or array element) number read
    read_count                 bigint not null,
    loaded_count               bigint not null,
    duplicate_count            bigint not null,
    quarantined_count          bigint not null,
    started_at                 timestamp not null,
    finished_at                timestamp not null
);

-- Columns added after the first release, here so that a warehouse created before gets them too
-- (NULL on its old rows, read as "not known" by the models and `callmart status`).
alter table raw.quarantine add column if not exists provider varchar;  -- dialpad | messagebird | NULL: cannot be told
alter table raw.quarantine add column if not exists received_at timestamp;  -- the envelope's, to decode an element again
alter table raw.quarantine add column if not exists file_bytes bigint;  -- a failed file's size
alter table raw.quarantine add column if not exists released_at timestamp;  -- when what it held was loaded
alter table raw.quarantine add column if not exists released_load_id varchar;  -- the load or retry that loaded it
alter table raw.load_log add column if not exists end_offset bigint;  -- bytes consumed: a pending last line is not
alter table raw.load_log add column if not exists consumed_sha256 varchar;  -- sha256 of the first end_offset bytes
alter table raw.load_log add column if not exists pending_count bigint;  -- 1 when an unfinished last line was left pending
