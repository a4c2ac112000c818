{{ config(materialized='table', tags=['mart', 'provenance']) }}
-- Grain: day x capability. How many interactions can show the data they were given: the
-- workspace snapshot they name, found, and its market snapshot, found (provenance_rate).
select
  created_date as date,
  capability,
  count(*) as interactions,
  {{ count_if('workspace_snapshot_id is not null') }} as referencing_snapshot,
  {{ count_if('snapshot_found') }} as with_snapshot,
  {{ count_if('workspace_snapshot_id is not null and not snapshot_found') }} as missing_snapshot,
  {{ count_if('has_provenance') }} as with_market_snapshot,
  {{ safe_divide(count_if('has_provenance'), 'count(*)') }} as provenance_rate
from {{ ref('ai_audit_provenance') }}
group by created_date, capability
