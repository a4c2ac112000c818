{{ config(materialized='view', tags=['mart', 'provenance']) }}
-- Provenance (seed 001: "correlate audit logs with workspace_data_snapshots to show the precise
-- market snapshot used during an interaction"): one row per copilot interaction, with the
-- workspace data snapshot it names and the market snapshot that snapshot was taken with.
-- A snapshot id the logs name may have no row (purged or never committed upstream):
-- snapshot_found is false and nothing further is known. has_provenance: both were found.
select
  l.id,
  l.created_at,
  l.created_date,
  l.capability,
  l.workspace_id,
  l.workspace_snapshot_id,
  w.id is not null as snapshot_found,
  w.created_at as snapshot_created_at,
  w.market_snapshot_id,
  m.market,
  m.as_of as market_as_of,
  m.id is not null as has_provenance
from {{ ref('stg_ai_audit_logs') }} as l
left join {{ source('raw', 'workspace_data_snapshots') }} as w
  on w.id = l.workspace_snapshot_id
left join {{ source('raw', 'market_snapshots') }} as m
  on m.id = w.market_snapshot_id
