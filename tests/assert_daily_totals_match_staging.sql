-- ai_audit_daily must account for every staged interaction exactly once.
select s.n as staged, d.n as aggregated
from (select count(*) as n from {{ ref('stg_ai_audit_logs') }}) as s
cross join (select coalesce(sum(interaction_count), 0) as n from {{ ref('ai_audit_daily') }}) as d
where s.n <> d.n
