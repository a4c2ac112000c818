{{ config(materialized='view', tags=['staging']) }}
select
  id as workflow_id,
  owner,
  team,
  created_at,
  last_accessed_at
from {{ source('raw', 'workflows') }}
