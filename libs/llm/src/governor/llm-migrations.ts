import type { MigrationObject } from '@assay/database';
import { Migration } from '@mikro-orm/migrations';
import { Migration20261202LlmHandover } from './llm-handover-migration';

/**
 * Tables and functions of the LLM rate governor and the judge-result cache.
 *
 * The governor is shared by every process through PostgreSQL, the one store they all have:
 *
 * - `llm_governors`: one row per governor key (a provider, or several providers sharing one
 *   account): the limits, the request and token buckets, and `not_before`, the provider-wide
 *   pause set by a Retry-After.
 * - `llm_slots`: `max_concurrency` rows per key. Holding a slot = its `holder` is set and its
 *   `lease_until` is in the future. A process that dies holding slots gives them back when their
 *   leases run out (lease = the attempt's timeout + a margin, so a live holder never outlives it).
 *
 * Requests and tokens per minute are token buckets kept in the governor row, not a sliding window
 * of call timestamps: a bucket is one row updated in place per grant (no table that grows with
 * every call and must be pruned, no count over the last minute), and it refills continuously the
 * way providers' own limiters do. Its burst is one second's worth (rpm/60 requests, at least 1),
 * so calls are spread over the minute instead of spending a whole minute's quota in the first
 * second, which providers that enforce their limits per second (OpenAI quantises them) refuse.
 * The token bucket may go into debt: a call is admitted while the bucket is positive and charged
 * its estimate (prompt + maxTokens), corrected with the real usage on release; later calls wait
 * until the debt is repaid, so the average holds even for calls larger than a second's tokens.
 *
 * Three functions keep each call to one short statement each way:
 *
 * - `assay_llm_acquire(key, holders[], tokens[], lease_ms[])` locks the governor row, refills the
 *   buckets, and grants slots to as many of the holders (in order) as the pause, the buckets and
 *   the free slots allow. It returns one row per grant and, if not everyone got one, a last row
 *   with no holder and `wait_ms`: > 0 = try again after that long (pause or bucket), -1 = every
 *   slot is taken (wait for a release: NOTIFY on `assay_llm_released`, or poll for expired leases).
 * - `assay_llm_release(key, slot, holder, token_delta, pause_ms, notify_payload)` frees the slot
 *   (only if this holder still has it), corrects the token bucket, extends the pause, and NOTIFYs.
 * - `assay_llm_configure(key, max_concurrency, rpm, tpm)` creates or updates the limits and the
 *   slot rows (each process calls it at start; the last one to start sets the limits).
 *
 * All times are the database's `clock_timestamp()`, so processes on hosts whose clocks disagree
 * still agree on leases, pauses and buckets.
 *
 * The judge cache (`llm_judge_cache`) keeps one judge answer per (metric, metric version, model,
 * hash of the rendered prompt), so re-scoring unchanged records costs no model call.
 */
export class Migration20261201Llm extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      -- Unlogged: the governor's state is ephemeral (leases last seconds, buckets refill), so it
      -- need not survive a crash or reach replicas. After a crash PostgreSQL empties these
      -- tables; the next acquire finds its key missing and the process configures it again.
      create unlogged table llm_governors (
        governor_key       text primary key,
        max_concurrency    int not null check (max_concurrency > 0),
        rpm                double precision check (rpm > 0),         -- null: unlimited
        tpm                double precision check (tpm > 0),         -- null: unlimited
        request_allowance  double precision not null,                -- request bucket at refilled_at
        token_allowance    double precision not null,                -- token bucket at refilled_at (may be < 0: debt)
        refilled_at        timestamptz not null,
        not_before         timestamptz not null default '-infinity', -- provider-wide pause (Retry-After)
        updated_at         timestamptz not null default now()
      );

      create unlogged table llm_slots (
        governor_key  text not null references llm_governors (governor_key) on delete cascade,
        slot          int not null,
        holder        text,          -- null: free
        lease_until   timestamptz,   -- a held slot whose lease has passed is free again
        acquired_at   timestamptz,
        primary key (governor_key, slot)
      );

      create function assay_llm_configure(p_key text, p_max int, p_rpm double precision, p_tpm double precision)
      returns void language plpgsql as $fn$
      begin
        insert into llm_governors as g (governor_key, max_concurrency, rpm, tpm, request_allowance, token_allowance, refilled_at)
        values (p_key, p_max, p_rpm, p_tpm, greatest(1, coalesce(p_rpm, 60) / 60), greatest(1, coalesce(p_tpm, 60) / 60), clock_timestamp())
        on conflict (governor_key) do update
          set max_concurrency = excluded.max_concurrency, rpm = excluded.rpm, tpm = excluded.tpm, updated_at = now()
          where (g.max_concurrency, g.rpm, g.tpm) is distinct from (excluded.max_concurrency, excluded.rpm, excluded.tpm);
        insert into llm_slots (governor_key, slot)
        select p_key, n from generate_series(1, p_max) as n
        on conflict do nothing;
      end
      $fn$;

      create function assay_llm_acquire(p_key text, p_holders text[], p_tokens double precision[], p_lease_ms int[])
      returns table (granted_holder text, granted_slot int, wait_ms int)
      language plpgsql as $fn$
      declare
        g             llm_governors%rowtype;
        t             timestamptz;
        elapsed       double precision;
        req           double precision;
        tok           double precision;
        n             int := coalesce(array_length(p_holders, 1), 0);
        i             int := 1;
        s             int;
        w             double precision := 0;
      begin
        -- Nothing here is worth waiting for a WAL flush at commit (see the unlogged tables).
        perform set_config('synchronous_commit', 'off', true);
        select * into g from llm_governors where governor_key = p_key for update;
        if not found then
          raise exception 'LLM governor "%" is not configured (assay_llm_configure)', p_key using errcode = 'P0002';
        end if;
        t := clock_timestamp();   -- after the row lock: the time the grant really happens
        if g.not_before > t then
          return query select null::text, null::int, ceil(extract(epoch from (g.not_before - t)) * 1000)::int;
          return;
        end if;
        elapsed := greatest(0, extract(epoch from (t - g.refilled_at)));
        if g.rpm is not null then
          req := least(greatest(1, g.rpm / 60), g.request_allowance + elapsed * g.rpm / 60);
        end if;
        if g.tpm is not null then
          tok := least(greatest(1, g.tpm / 60), g.token_allowance + elapsed * g.tpm / 60);
        end if;
        while i <= n loop
          if req is not null and req < 1 then
            w := (1 - req) / (g.rpm / 60);
            exit;
          end if;
          if tok is not null and tok <= 0 then
            w := greatest(w, (1 - tok) / (g.tpm / 60));
            exit;
          end if;
          select sl.slot into s from llm_slots sl
           where sl.governor_key = p_key and sl.slot <= g.max_concurrency
             and (sl.holder is null or sl.lease_until < t)
           order by sl.slot
           limit 1
           for update skip locked;
          if s is null then
            w := -1;
            exit;
          end if;
          update llm_slots sl
             set holder = p_holders[i], lease_until = t + make_interval(secs => p_lease_ms[i] / 1000.0), acquired_at = t
           where sl.governor_key = p_key and sl.slot = s;
          if req is not null then req := req - 1; end if;
          if tok is not null then tok := tok - p_tokens[i]; end if;
          granted_holder := p_holders[i];
          granted_slot := s;
          wait_ms := 0;
          return next;
          i := i + 1;
        end loop;
        if i > 1 and (req is not null or tok is not null) then
          update llm_governors
             set request_allowance = coalesce(req, request_allowance), token_allowance = coalesce(tok, token_allowance), refilled_at = t
           where governor_key = p_key;
        end if;
        if i <= n then
          granted_holder := null;
          granted_slot := null;
          wait_ms := case when w < 0 then -1 else greatest(1, ceil(w * 1000))::int end;
          return next;
        end if;
      end
      $fn$;

      create function assay_llm_release(p_key text, p_slot int, p_holder text, p_token_delta double precision, p_pause_ms int, p_notify text)
      returns void language plpgsql as $fn$
      begin
        perform set_config('synchronous_commit', 'off', true);
        update llm_slots set holder = null, lease_until = null, acquired_at = null
         where governor_key = p_key and slot = p_slot and holder = p_holder;
        if p_token_delta <> 0 or p_pause_ms > 0 then
          update llm_governors
             set token_allowance = case when tpm is null then token_allowance else token_allowance - p_token_delta end,
                 not_before = case when p_pause_ms > 0 then greatest(not_before, clock_timestamp() + make_interval(secs => p_pause_ms / 1000.0)) else not_before end
           where governor_key = p_key;
        end if;
        perform pg_notify('assay_llm_released', p_notify);
      end
      $fn$;

      create table llm_judge_cache (
        metric_id       text not null,
        metric_version  int not null,
        model           text not null,
        prompt_hash     text not null,     -- sha256 of the rendered messages and sampling parameters
        result          jsonb not null,    -- JudgeCacheEntry
        created_at      timestamptz not null default now(),
        primary key (metric_id, metric_version, model, prompt_hash)
      );
    `);
  }
}

/** Add to the service's migration list (libs/backend) after the event store's. */
export const llmMigrations: readonly MigrationObject[] = [
  { name: 'Migration20261201Llm', class: Migration20261201Llm },
  { name: 'Migration20261202LlmHandover', class: Migration20261202LlmHandover },
];
