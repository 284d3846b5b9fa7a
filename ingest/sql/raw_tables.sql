-- The raw layer: what `callmart ingest` writes. Created if missing, never dropped.
-- Unix-ms dates stay BIGINT here (as delivered); staging turns them into timestamps.
-- Empty values (null, "", "0", 0, {}, []) of ids, texts, dates, objects and lists are NULL;
-- numeric measures (duration, hold_time, ...) keep 0.
--
-- Identity hashes are unique by construction (a load inserts only hashes not stored yet), not
-- by a primary key: DuckDB keeps a key's whole index in memory, which at tens of millions of
-- events would cost more than the load itself. Payload texts use DuckDB's default compression
-- (FSST), not zstd: zstd columns need storage format 1.2, and the warehouse stays in DuckDB
-- 1.1's so that any BI tool's DuckDB opens it (CONTRACT section 10; ingest/publish.py). zstd
-- stored them in less than half the space (the bundled simulator's 226k events: 48 MB, 111 MB
-- without).

create schema if not exists raw;

create table if not exists raw.dialpad_call_events (
    event_hash                 varchar not null,  -- sha256 of the canonical payload JSON
    call_id                    bigint not null,
    state                      varchar not null,
    direction                  varchar,
    master_call_id             bigint,
    entry_point_call_id        bigint,
    operator_call_id           bigint,
    event_timestamp            bigint,
    date_started               bigint,
    date_rang                  bigint,
    date_first_rang            bigint,
    date_queued                bigint,
    date_connected             bigint,
    date_ended                 bigint,
    duration                   double,
    total_duration             double,
    hold_time                  double,
    talk_time                  double,
    mos_score                  double,
    internal_number            varchar,
    external_number            varchar,
    group_id                   varchar,
    is_transferred             boolean,
    was_recorded               boolean,
    target_id                  bigint,
    target_type                varchar,
    target_name                varchar,
    target_email               varchar,
    target_phone               varchar,
    target_office_id           bigint,
    contact_id                 varchar,
    contact_type               varchar,
    contact_name               varchar,
    contact_email              varchar,
    contact_phone              varchar,
    entry_point_target_id      bigint,
    entry_point_target_type    varchar,
    entry_point_target_name    varchar,
    entry_point_target_email   varchar,
    entry_point_target_phone   varchar,
    entry_point_target_office_id bigint,
    proxy_target_id            bigint,
    proxy_target_type          varchar,
    proxy_target_name          varchar,
    proxy_target_email         varchar,
    proxy_target_phone         varchar,
    proxy_target_office_id     bigint,
    csat_score                 varchar,
    pcsat_score                varchar,
    csat_recording_urls        varchar[],
    csat_transcriptions        varchar[],
    custom_data                varchar,
    transcription_text         varchar,
    voicemail_link             varchar,
    recording_url              varchar[],
    recording_details          struct(
                                   id varchar,
                                   url varchar,
                                   duration double,
                                   start_time bigint,
                                   recording_type varchar
                               )[],
    call_recording_ids         varchar[],
    screen_recording_urls      varchar[],
    labels                     varchar[],
    recap_summary              varchar,
    recap_outcome              varchar,
    recap_purposes             varchar[],
    recap_action_items         varchar[],
    call_dispositions          json,
    routing_breadcrumbs        json,
    transferred_from           json,
    ai_playbook                json,
    received_at                timestamp,   -- the envelope's received_at (UTC), if any
    event_at                   timestamp not null,
    event_at_source            varchar not null,  -- event | received | fallback
    payload                    json not null,  -- the decoded payload, canonical
    source_file                varchar not null,
    source_line                bigint not null,
    load_id                    varchar not null,
    loaded_at                  timestamp not null
);

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

-- MessageBird Voice API objects (CONTRACT section 8): one row per distinct snapshot (an
-- identical snapshot delivered twice is one row); staging keeps the latest per object.
-- Statuses are normalised: `no-answer` -> `no_answer`, `completed` -> `hangup`.

create table if not exists raw.messagebird_calls (
    object_hash                varchar not null,  -- sha256 of the canonical object JSON
    call_id                    varchar not null,  -- the call's `id`
    status                     varchar,
    source                     varchar,
    destination                varchar,
    number_id                  varchar,
    created_at                 timestamp,
    updated_at                 timestamp,
    ended_at                   timestamp,
    received_at                timestamp,
    payload                    json not null,
    source_file                varchar not null,
    source_line                bigint not null,
    load_id                    varchar not null,
    loaded_at                  timestamp not null
);

create table if not exists raw.messagebird_legs (
    object_hash                varchar not null,
    leg_id                     varchar not null,  -- the leg's `id`
    call_id                    varchar not null,  -- its `callId`
    source                     varchar,
    destination                varchar,
    status                     varchar,
    direction                  varchar,           -- incoming | outgoing, as delivered
    cost                       double,
    currency                   varchar,
    duration                   bigint,            -- seconds
    created_at                 timestamp,
    updated_at                 timestamp,
    answered_at                timestamp,
    ended_at                   timestamp,
    received_at                timestamp,
    payload                    json not null,
    source_file                varchar not null,
    source_line                bigint not null,
    load_id                    varchar not null,
    loaded_at                  timestamp not null
);

-- Columns added after the first release, here so that a warehouse created before gets them too
-- (NULL on its old rows, read as "not known" by the models and `callmart status`).
-- time fields of the payload (or the envelope's received_at) nulled because they fall outside
-- the plausible window (docs/ingest.md, "Impossible times")
alter table raw.dialpad_call_events add column if not exists implausible_time_fields varchar[];
alter table raw.messagebird_calls add column if not exists implausible_time_fields varchar[];
alter table raw.messagebird_legs add column if not exists implausible_time_fields varchar[];
alter table raw.quarantine add column if not exists provider varchar;  -- dialpad | messagebird | NULL: cannot be told
alter table raw.quarantine add column if not exists received_at timestamp;  -- the envelope's, to decode an element again
alter table raw.quarantine add column if not exists file_bytes bigint;  -- a failed file's size
alter table raw.quarantine add column if not exists released_at timestamp;  -- when what it held was loaded
alter table raw.quarantine add column if not exists released_load_id varchar;  -- the load or retry that loaded it
alter table raw.load_log add column if not exists end_offset bigint;  -- bytes consumed: a pending last line is not
alter table raw.load_log add column if not exists consumed_sha256 varchar;  -- sha256 of the first end_offset bytes
alter table raw.load_log add column if not exists pending_count bigint;  -- 1 when an unfinished last line was left pending
